// Launch an evaluation run: dataset, target (workflow, prompt or chain at a version), saved evaluators; the cost
// estimate is asked for before launching (the same checks as the launch, nothing created); errors land on fields.
import { Alert, Button, Group, Modal, MultiSelect, NumberInput, Select, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { ApiError, listOf, request } from "../api/client";

type Kind = "workflow" | "prompt" | "chain";
const RESOURCE_PATH: Record<Kind, string> = { workflow: "workflows", prompt: "prompts", chain: "chains" };

export function LaunchForm({ ws, opened, onClose }: { ws: string; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [dataset, setDataset] = useState<string | null>(null);
  const [kind, setKind] = useState<Kind>("workflow");
  const [target, setTarget] = useState<string | null>(null);
  const [version, setVersion] = useState("latest");
  const [evaluators, setEvaluators] = useState<string[]>([]);
  const [repetitions, setRepetitions] = useState<number>(1);
  const datasets = useQuery({ queryKey: [ws, "datasets"], enabled: opened, queryFn: () => listOf<{ slug: string; name: string }>(`/api/workspaces/${ws}/datasets/`) });
  const targets = useQuery({ queryKey: [ws, RESOURCE_PATH[kind]], enabled: opened, queryFn: () => listOf<{ slug: string; name: string }>(`/api/workspaces/${ws}/${RESOURCE_PATH[kind]}/`) });
  const saved = useQuery({ queryKey: [ws, "evaluators"], enabled: opened, queryFn: () => listOf<{ name: string; kind: string }>(`/api/workspaces/${ws}/evaluators/`) });
  const body = () => JSON.stringify({ name, dataset: dataset ?? "", [kind]: target ?? "", version, repetitions, evaluators: evaluators.map((n) => ({ name: n })) });
  const estimate = useMutation({
    mutationFn: async () => (await (await request(`/api/workspaces/${ws}/evaluation-runs/estimate/`, { method: "POST", body: body() })).json()) as { total: number; estimated_cost: string | null },
  });
  const launch = useMutation({
    mutationFn: async () => (await (await request(`/api/workspaces/${ws}/evaluation-runs/`, { method: "POST", body: body() })).json()) as { id: number },
    onSuccess: (run) => navigate(`/w/${ws}/evaluations/${run.id}`),
  });
  const error = (launch.error ?? estimate.error) instanceof ApiError ? ((launch.error ?? estimate.error) as ApiError) : null;
  const field = (path: string) => error?.fieldMessages(path)[0];
  return (
    <Modal opened={opened} onClose={onClose} title={t("evaluations.launch")} size="lg">
      <Stack>
        <TextInput label={t("common.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={field("name")} />
        <Select label={t("evaluations.dataset")} data={(datasets.data ?? []).map((d) => d.slug)} value={dataset} onChange={setDataset} error={field("dataset")} searchable required />
        <Group grow>
          <Select label={t("evaluations.targetKind")} data={["workflow", "prompt", "chain"]} value={kind} onChange={(v) => { setKind((v ?? "workflow") as Kind); setTarget(null); }} allowDeselect={false} />
          <Select label={t("evaluations.target")} data={(targets.data ?? []).map((r) => r.slug)} value={target} onChange={setTarget} error={field(kind) ?? field("target")} searchable required />
          <TextInput label={t("common.version")} value={version} onChange={(e) => setVersion(e.currentTarget.value)} error={field("version")} />
        </Group>
        <MultiSelect label={t("evaluations.evaluators")} data={(saved.data ?? []).map((e) => e.name)} value={evaluators} onChange={setEvaluators} error={field("evaluators")} searchable />
        <NumberInput label={t("evaluations.repetitions")} value={repetitions} onChange={(v) => setRepetitions(typeof v === "number" ? v : 1)} min={1} max={20} error={field("repetitions")} w={160} />
        {estimate.data && (
          <Text size="sm" data-testid="estimate">
            {t("evaluations.estimate", { total: estimate.data.total, cost: estimate.data.estimated_cost ?? t("evaluations.noHistory") })}
          </Text>
        )}
        {error && !Object.keys(error.fields).length && <Alert color="red">{error.message}</Alert>}
        <Group justify="flex-end">
          <Button variant="default" onClick={() => estimate.mutate()} loading={estimate.isPending}>
            {t("evaluations.estimateButton")}
          </Button>
          <Button onClick={() => launch.mutate()} loading={launch.isPending}>
            {t("evaluations.launch")}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
