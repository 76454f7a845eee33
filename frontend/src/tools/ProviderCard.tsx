// A configured tool provider: its tools (each opens its detail), enable/disable, refresh and delete.
import { Alert, Badge, Button, Card, Group, Stack, Switch, Table, Text, Title, UnstyledButton } from "@mantine/core";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useCan } from "../session";
import { useProviderAction, type ToolProvider, type ToolSpec } from "./api";

export function ToolTable({ tools, onOpen }: { tools: ToolSpec[]; onOpen: (tool: ToolSpec) => void }) {
  const { t } = useTranslation();
  if (tools.length === 0) return <Text c="dimmed" size="sm">{t("tools.noTools")}</Text>;
  return (
    <Table highlightOnHover>
      <Table.Thead>
        <Table.Tr><Table.Th>{t("tools.tool")}</Table.Th><Table.Th>{t("common.description")}</Table.Th></Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {tools.map((tool) => (
          <Table.Tr key={tool.name}>
            <Table.Td style={{ whiteSpace: "nowrap" }}>
              <UnstyledButton onClick={() => onOpen(tool)} c="blue" aria-label={tool.name}><code>{tool.name}</code></UnstyledButton>
            </Table.Td>
            <Table.Td><Text size="sm" lineClamp={2}>{tool.description}</Text></Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

interface Props {
  provider: ToolProvider;
  onOpen: (tool: ToolSpec, provider: ToolProvider) => void;
  /** Extra lines under the header (credentials, URL...). */
  children?: ReactNode;
  /** Extra buttons (edit credentials). */
  actions?: ReactNode;
}

export function ProviderCard({ provider, onOpen, children, actions }: Props) {
  const { t } = useTranslation();
  const canEdit = useCan("editor");
  const action = useProviderAction();
  const [confirming, setConfirming] = useState(false);
  const refreshable = provider.kind === "mcp" || (provider.kind === "openapi" && !!provider.url);
  const enabled = provider.enabled !== false;
  return (
    <Card withBorder data-testid={`provider-${provider.slug}`}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <Title order={4}>{provider.name}</Title>
            <code>{provider.slug}</code>
            <Badge variant="light">{provider.kind}</Badge>
          </Group>
          <Group gap="xs">
            <Switch label={t("tools.enabled")} checked={enabled} disabled={!canEdit || action.isPending}
              onChange={(e) => action.mutate({ slug: provider.slug, action: "enable", enabled: e.currentTarget.checked })} />
            {actions}
            {refreshable && (
              <Button size="xs" variant="light" disabled={!canEdit} loading={action.isPending && action.variables?.action === "refresh"}
                onClick={() => action.mutate({ slug: provider.slug, action: "refresh" })}>
                {t("tools.refresh")}
              </Button>
            )}
            <Button size="xs" color="red" variant="light" disabled={!canEdit} onClick={() => setConfirming(true)}>{t("tools.delete")}</Button>
          </Group>
        </Group>
        {provider.description && <Text size="sm" c="dimmed">{provider.description}</Text>}
        {children}
        {confirming && (
          <Alert color="red">
            <Group justify="space-between">
              <Text size="sm">{t("tools.confirmDelete", { name: provider.name })}</Text>
              <Group gap="xs">
                <Button size="xs" variant="default" onClick={() => setConfirming(false)}>{t("common.cancel")}</Button>
                <Button size="xs" color="red" loading={action.isPending} onClick={() => action.mutate({ slug: provider.slug, action: "delete" })}>
                  {t("tools.deleteConfirm")}
                </Button>
              </Group>
            </Group>
          </Alert>
        )}
        {action.error && <Alert color="red">{action.error.message}</Alert>}
        {action.isSuccess && action.variables.action === "refresh" && <Text component="output" size="sm" c="green">{t("tools.refreshed")}</Text>}
        <ToolTable tools={provider.tools} onOpen={(tool) => onOpen(tool, provider)} />
      </Stack>
    </Card>
  );
}
