// Versions of any versioned resource (prompts, workflows): list, labels (set and remove), restore into the
// draft, and a side-by-side diff of two versions.
import { ActionIcon, Badge, Button, Group, Popover, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { gateFor, gatedResource, type LabelGateRow } from "../evaluations/gates";
import { SideBySideDiff } from "./CodeEditor";

export interface Version<C = unknown> {
  number: number;
  content: C;
  message: string;
  author: string | null;
  created_at: string;
  labels: string[];
}

interface Props<C> {
  /** The resource's API path, ending in `/`. */
  base: string;
  queryKey: readonly unknown[];
  canEdit: boolean;
  /** The text a version is compared as. */
  textOf: (content: C) => string;
  onRestored: () => void;
}

export function useVersions<C>(base: string, queryKey: readonly unknown[]) {
  return useQuery({ queryKey: [...queryKey, "versions"], queryFn: () => listOf<Version<C>>(`${base}versions/?limit=200`) });
}

function LabelAdder({ onAdd, base }: { onAdd: (name: string) => Promise<void>; base: string }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState(false);
  const resource = gatedResource(base);
  const workspace = /\/api\/workspaces\/([^/]+)\//.exec(base)?.[1] ?? "";
  const gates = useQuery({
    queryKey: [workspace, "label-gates"],
    enabled: opened && !!resource,
    queryFn: () => listOf<LabelGateRow>(`/api/workspaces/${workspace}/label-gates/`),
  });
  const gate = resource && name ? gateFor(gates.data ?? [], resource, name) : null;
  const submit = async () => {
    try {
      await onAdd(name);
      setName(""); setError(null); setOpened(false);
    } catch (e) {
      if (e instanceof ApiError) setError(e.fields.name?.join(" ") ?? e.message);
    }
  };
  return (
    <Popover opened={opened} onChange={setOpened} trapFocus position="bottom" withArrow>
      <Popover.Target>
        <ActionIcon size="sm" variant="subtle" aria-label={t("versions.addLabel")} onClick={() => setOpened((o) => !o)}>+</ActionIcon>
      </Popover.Target>
      <Popover.Dropdown>
        <Group gap="xs" align="flex-start">
          <TextInput size="xs" label={t("versions.labelName")} placeholder="production" value={name} error={error} onChange={(e) => setName(e.currentTarget.value)} onKeyDown={(e) => { if (e.key === "Enter") void submit(); }} />
          <Button size="xs" mt={22} onClick={() => void submit()}>{t("common.save")}</Button>
        </Group>
        {gate && (
          <Text size="xs" c="dimmed" maw={320} mt={4} data-testid="gate-hint">
            {t("versions.gated", { label: gate.label, rate: gate.min_pass_rate })}
            {gate.min_score != null && ` ${t("versions.gatedScore", { score: gate.min_score })}`}
          </Text>
        )}
      </Popover.Dropdown>
    </Popover>
  );
}

export function Versions<C>({ base, queryKey, canEdit, textOf, onRestored }: Props<C>) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const versions = useVersions<C>(base, queryKey);
  const [from, setFrom] = useState<string | null>(null);
  const [to, setTo] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: [...queryKey, "versions"] });
  const restore = useMutation({
    mutationFn: async (number: number) => request(`${base}restore/`, { method: "POST", body: JSON.stringify({ number }) }),
    onSuccess: (_, number) => { notifications.show({ color: "green", message: `${t("common.restore")} v${number}` }); onRestored(); },
  });
  const setLabel = async (name: string, version: number) => {
    await request(`${base}labels/`, { method: "PUT", body: JSON.stringify({ name, version }) });
    await refresh();
  };
  const removeLabel = async (name: string) => {
    try {
      await request(`${base}labels/?name=${encodeURIComponent(name)}`, { method: "DELETE" });
      await refresh();
    } catch (e) {
      if (e instanceof ApiError) notifications.show({ color: "red", message: e.message });
    }
  };
  const contentOf = (n: string | null) => versions.data?.find((v) => String(v.number) === n)?.content;
  const options = (versions.data ?? []).map((v) => ({ value: String(v.number), label: `v${v.number}` }));
  const left = contentOf(from);
  const right = contentOf(to);

  return (
    <Stack gap="sm">
      <Title order={4}>{t("common.versions")}</Title>
      {versions.data?.length === 0 && <Text c="dimmed">{t("versions.none")}</Text>}
      {!!versions.data?.length && (
        <Table>
          <Table.Thead><Table.Tr><Table.Th>{t("common.version")}</Table.Th><Table.Th>{t("common.message")}</Table.Th><Table.Th>{t("common.labels")}</Table.Th><Table.Th>{t("common.updated")}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
          <Table.Tbody>
            {versions.data.map((v) => (
              <Table.Tr key={v.number} data-testid={`version-${v.number}`}>
                <Table.Td>v{v.number}</Table.Td>
                <Table.Td>{v.message}</Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {v.labels.map((l) => (
                      <Badge key={l} variant="light" rightSection={canEdit ? <ActionIcon size="xs" variant="transparent" aria-label={`${t("common.delete")} ${l}`} onClick={() => void removeLabel(l)}>×</ActionIcon> : undefined}>{l}</Badge>
                    ))}
                    {canEdit && <LabelAdder base={base} onAdd={(name) => setLabel(name, v.number)} />}
                  </Group>
                </Table.Td>
                <Table.Td>{new Date(v.created_at).toLocaleString()}{v.author ? ` · ${v.author}` : ""}</Table.Td>
                <Table.Td><Button size="xs" variant="subtle" disabled={!canEdit} loading={restore.isPending && restore.variables === v.number} onClick={() => restore.mutate(v.number)}>{t("common.restore")}</Button></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Title order={5}>{t("prompts.compare")}</Title>
      <Group>
        <Select aria-label={t("prompts.from")} placeholder={t("prompts.from")} data={options} value={from} onChange={setFrom} />
        <Select aria-label={t("prompts.to")} placeholder={t("prompts.to")} data={options} value={to} onChange={setTo} />
      </Group>
      {left !== undefined && right !== undefined && <SideBySideDiff left={textOf(left)} right={textOf(right)} />}
    </Stack>
  );
}
