// The deployment form (create and edit): target (workflow or chain) with its version or label, execution
// mode, concurrency limit and default webhook; the API's field errors land on their fields.
import { Alert, Autocomplete, Button, Group, NumberInput, SegmentedControl, Select, Stack, Textarea, TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf } from "../api/client";
import type { Version } from "../components/Versions";
import { useResources } from "../components/ResourceList";
import { useWorkspaceSlug } from "../session";
import type { Deployment, DeploymentBody } from "./api";

type Kind = "workflow" | "chain";

/** The values a version field offers: latest, each label, each version number (newest first). */
export function versionChoices(versions: Pick<Version, "number" | "labels">[]): string[] {
  const labels = [...new Set(versions.flatMap((v) => v.labels))].sort();
  const numbers = versions.map((v) => v.number).sort((a, b) => b - a).map(String);
  return ["latest", ...labels, ...numbers];
}

function useVersionChoices(kind: Kind, slug: string | null) {
  const ws = useWorkspaceSlug();
  return useQuery({
    queryKey: [ws, `${kind}s`, slug, "versions"],
    queryFn: () => listOf<Version>(`/api/workspaces/${ws}/${kind}s/${slug}/versions/?limit=200`),
    enabled: !!slug,
    select: versionChoices,
  });
}

interface Props {
  initial?: Deployment;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (body: Partial<DeploymentBody>) => void;
}

export function DeploymentForm({ initial, submitLabel, pending, error, onSubmit }: Props) {
  const { t } = useTranslation();
  const [name, setName] = useState(initial?.name ?? "");
  const [slug, setSlug] = useState(initial?.slug ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [kind, setKind] = useState<Kind>(initial?.chain ? "chain" : "workflow");
  const [target, setTarget] = useState<string | null>(initial?.workflow ?? initial?.chain ?? null);
  const [version, setVersion] = useState(initial?.version ?? "latest");
  const [execution, setExecution] = useState<string>(initial?.execution ?? "auto");
  const [maxConcurrent, setMaxConcurrent] = useState<number>(initial?.max_concurrent_runs ?? 20);
  const [webhookUrl, setWebhookUrl] = useState(initial?.webhook_url ?? "");
  const targets = useResources(`${kind}s`);
  const versions = useVersionChoices(kind, target);
  const apiError = error instanceof ApiError ? error : null;
  const field = (path: string) => apiError?.fieldMessages(path).join(" ") || undefined;
  const fieldNames = ["name", "slug", "description", "workflow", "chain", "version", "execution", "max_concurrent_runs", "webhook_url"];
  const unplaced = apiError && !fieldNames.some((f) => apiError.fieldMessages(f).length);

  const submit = () => {
    const body: Partial<DeploymentBody> = {
      name, description, version, execution: execution as DeploymentBody["execution"], max_concurrent_runs: maxConcurrent, webhook_url: webhookUrl,
      workflow: kind === "workflow" ? target : null,
      chain: kind === "chain" ? target : null,
    };
    if (!initial) body.slug = slug;
    onSubmit(body);
  };

  return (
    <Stack component="form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {unplaced && <Alert color="red" role="alert">{apiError.message}</Alert>}
      {!initial && (
        <Group grow align="flex-start">
          <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={field("name")} required data-autofocus />
          <TextInput label={t("common.slug")} value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={field("slug")} required />
        </Group>
      )}
      {initial && <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={field("name")} required />}
      <SegmentedControl
        aria-label={t("deployments.targetKind")}
        value={kind}
        onChange={(value) => { setKind(value as Kind); setTarget(null); }}
        data={[{ value: "workflow", label: t("deployments.workflow") }, { value: "chain", label: t("deployments.chain") }]}
      />
      <Group grow align="flex-start">
        <Select
          label={kind === "workflow" ? t("deployments.workflow") : t("deployments.chain")}
          data={(targets.data ?? []).map((r) => ({ value: r.slug, label: `${r.name} (${r.slug})` }))}
          value={target}
          onChange={setTarget}
          placeholder={t("deployments.pick")}
          searchable
          error={field(kind)}
        />
        <Autocomplete
          label={t("deployments.version")}
          description={t("deployments.versionHelp")}
          data={versions.data ?? ["latest"]}
          value={version}
          onChange={setVersion}
          error={field("version")}
        />
      </Group>
      <Select
        label={t("deployments.execution")}
        data={[
          { value: "auto", label: t("deployments.executionAuto") },
          { value: "inline", label: t("deployments.executionInline") },
          { value: "worker", label: t("deployments.executionWorker") },
        ]}
        value={execution}
        onChange={(value) => setExecution(value ?? "auto")}
        allowDeselect={false}
        error={field("execution")}
      />
      <Group grow align="flex-start">
        <NumberInput
          label={t("deployments.maxConcurrent")}
          description={t("deployments.maxConcurrentHelp")}
          min={0}
          value={maxConcurrent}
          onChange={(value) => setMaxConcurrent(Number(value) || 0)}
          error={field("max_concurrent_runs")}
        />
        <TextInput label={t("deployments.webhookUrl")} value={webhookUrl} onChange={(e) => setWebhookUrl(e.currentTarget.value)} error={field("webhook_url")} placeholder="https://" />
      </Group>
      <Textarea label={t("deployments.description")} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={field("description")} autosize minRows={1} />
      <Group justify="flex-end">
        <Button type="submit" loading={pending}>{submitLabel}</Button>
      </Group>
    </Stack>
  );
}
