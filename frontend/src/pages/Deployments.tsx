// Deployments: the list (target, version, status, execution, concurrency) and the create form.
import { Alert, Badge, Button, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { useDeployments, useSaveDeployment } from "../deployments/api";
import { DeploymentForm } from "../deployments/DeploymentForm";
import { useCan, useWorkspaceSlug } from "../session";

export default function Deployments() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const navigate = useNavigate();
  const deployments = useDeployments();
  const create = useSaveDeployment();
  const [open, setOpen] = useState(false);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("deployments.title")}</Title>
        <Button onClick={() => { create.reset(); setOpen(true); }} disabled={!canEdit} title={canEdit ? undefined : t("common.readOnly")}>
          {t("deployments.create")}
        </Button>
      </Group>
      {deployments.error && <Alert color="red">{(deployments.error as Error).message}</Alert>}
      {deployments.data?.length === 0 && <Text c="dimmed">{t("deployments.empty")}</Text>}
      {!!deployments.data?.length && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("common.name")}</Table.Th><Table.Th>{t("common.slug")}</Table.Th><Table.Th>{t("deployments.target")}</Table.Th>
              <Table.Th>{t("deployments.version")}</Table.Th><Table.Th>{t("deployments.status")}</Table.Th>
              <Table.Th>{t("deployments.execution")}</Table.Th><Table.Th>{t("deployments.maxConcurrent")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {deployments.data.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td><Link to={`/w/${ws}/deployments/${d.slug}`}>{d.name}</Link></Table.Td>
                <Table.Td><code>{d.slug}</code></Table.Td>
                <Table.Td>{d.workflow ? `${t("deployments.workflow")}: ${d.workflow}` : `${t("deployments.chain")}: ${d.chain ?? ""}`}</Table.Td>
                <Table.Td>{d.version}</Table.Td>
                <Table.Td><Badge color={d.status === "active" ? "green" : "gray"}>{t(`deployments.${d.status}`)}</Badge></Table.Td>
                <Table.Td>{d.execution}</Table.Td>
                <Table.Td>{d.max_concurrent_runs || "∞"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {open && (
        <Modal opened onClose={() => setOpen(false)} title={t("deployments.create")} size="lg">
          <DeploymentForm
            submitLabel={t("common.create")}
            pending={create.isPending}
            error={create.error}
            onSubmit={(body) => create.mutate(body, { onSuccess: (d) => { setOpen(false); navigate(`/w/${ws}/deployments/${d.slug}`); } })}
          />
        </Modal>
      )}
    </Stack>
  );
}
