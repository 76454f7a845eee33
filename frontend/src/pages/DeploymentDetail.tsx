// A deployment: status with pause/resume, today's counters, its binding and limits (editable), API keys,
// ready-to-paste snippets and the call log.
import { Alert, Badge, Button, Card, Group, Loader, SimpleGrid, Stack, Tabs, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { ApiKeys } from "../deployments/ApiKeys";
import { useCounters, useDeployment, useSaveDeployment, useSetStatus, useTargetVersion, type Deployment } from "../deployments/api";
import { CallLog } from "../deployments/CallLog";
import { DeploymentForm } from "../deployments/DeploymentForm";
import { inputsOf } from "../deployments/snippets";
import { Snippets } from "../deployments/Snippets";
import { useCan } from "../session";

function Counters({ slug }: { slug: string }) {
  const { t } = useTranslation();
  const counters = useCounters(slug);
  const c = counters.data;
  const cells: [string, string | number][] = [
    [t("deployments.runsToday"), c?.runs ?? "—"],
    [t("deployments.errorsToday"), c?.errors ?? "—"],
    [t("deployments.tokensToday"), c?.total_tokens ?? "—"],
    [t("deployments.costToday"), c?.cost ?? "—"],
  ];
  return (
    <SimpleGrid cols={{ base: 2, sm: 4 }}>
      {cells.map(([label, value]) => (
        <Card key={label} withBorder padding="sm">
          <Text size="xs" c="dimmed">{t("deployments.today")} · {label}</Text>
          <Text fw={600} size="lg">{value}</Text>
        </Card>
      ))}
    </SimpleGrid>
  );
}

function Settings({ deployment }: { deployment: Deployment }) {
  const { t } = useTranslation();
  const save = useSaveDeployment(deployment.slug);
  return (
    <DeploymentForm
      key={deployment.updated_at}
      initial={deployment}
      submitLabel={t("common.save")}
      pending={save.isPending}
      error={save.error}
      onSubmit={(body) => save.mutate(body, { onSuccess: () => notifications.show({ color: "green", message: t("deployments.saved") }) })}
    />
  );
}

function CallIt({ deployment }: { deployment: Deployment }) {
  const { t } = useTranslation();
  const version = useTargetVersion(deployment);
  const inputs = inputsOf(version.data?.content);
  return (
    <Stack gap="xs">
      <Text size="sm">
        {t("deployments.inputs")}: {inputs.length ? inputs.map((i) => <code key={i.name}>{i.name} </code>) : t("deployments.noInputs")}
      </Text>
      <Snippets ctx={{ baseUrl: window.location.origin, slug: deployment.slug, inputs }} />
    </Stack>
  );
}

export default function DeploymentDetail() {
  const { t } = useTranslation();
  const { slug = "" } = useParams();
  const canEdit = useCan("editor");
  const deployment = useDeployment(slug);
  const setStatus = useSetStatus(slug);
  if (deployment.isPending) return <Loader />;
  if (deployment.error || !deployment.data) return <Alert color="red">{t("deployments.notFound")}</Alert>;
  const d = deployment.data;
  const paused = d.status === "paused";
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{d.name}</Title>
          <code>{d.slug}</code>
          <Badge color={paused ? "gray" : "green"} data-testid="deployment-status">{t(`deployments.${d.status}`)}</Badge>
        </Group>
        <Button
          color={paused ? "green" : "orange"}
          disabled={!canEdit}
          loading={setStatus.isPending}
          onClick={() => setStatus.mutate(paused ? "resume" : "pause")}
        >
          {paused ? t("deployments.resume") : t("deployments.pause")}
        </Button>
      </Group>
      {paused && <Alert color="orange">{t("deployments.pausedNote")}</Alert>}
      <Text size="sm" c="dimmed">
        {d.workflow ? `${t("deployments.workflow")}: ${d.workflow}` : `${t("deployments.chain")}: ${d.chain ?? ""}`} · {t("deployments.version")}: {d.version} ·{" "}
        {t("deployments.execution")}: {d.execution} · {t("deployments.maxConcurrent")}: {d.max_concurrent_runs || "∞"}
      </Text>
      <Counters slug={slug} />
      <Tabs defaultValue="call">
        <Tabs.List>
          <Tabs.Tab value="call">{t("deployments.snippets")}</Tabs.Tab>
          <Tabs.Tab value="keys">{t("deployments.keys")}</Tabs.Tab>
          <Tabs.Tab value="log">{t("deployments.callLog")}</Tabs.Tab>
          <Tabs.Tab value="settings">{t("deployments.settings")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="call" pt="md"><CallIt deployment={d} /></Tabs.Panel>
        <Tabs.Panel value="keys" pt="md"><ApiKeys slug={d.slug} canEdit={canEdit} /></Tabs.Panel>
        <Tabs.Panel value="log" pt="md"><CallLog deployment={d} /></Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          {canEdit ? <Settings deployment={d} /> : <Text c="dimmed">{t("common.readOnly")}</Text>}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
