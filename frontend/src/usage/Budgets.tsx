// Budgets: each one's consumption this period as a bar with its threshold marks; admins create, edit and
// delete them (the API's field errors shown on their fields).
import { Alert, Badge, Box, Button, Card, Group, Modal, Progress, Select, Stack, Switch, Text, TextInput, Title, Tooltip } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { consumption, money, type BudgetRecord } from "./shaping";

export type Names = Record<"deployment" | "api_key", Record<string, string>>;

const LEVEL_COLOR = { ok: "blue", warn: "orange", over: "red" } as const;

function BudgetBar({ budget, names, onEdit }: { budget: BudgetRecord; names: Names; onEdit?: () => void }) {
  const { t } = useTranslation();
  const c = consumption(budget);
  const unit = budget.metric === "tokens" ? t("usage.budget.tokensUnit") : budget.currency;
  const keyLabel = (key: string) => (budget.scope === "deployment" || budget.scope === "api_key" ? (names[budget.scope][key] ?? `#${key}`) : key);
  const scope =
    budget.scope === "workspace"
      ? t("usage.budget.scopes.workspace")
      : budget.scope_key
        ? `${t(`usage.budget.scopes.${budget.scope}`)}: ${keyLabel(budget.scope_key)}`
        : t("usage.budget.each", { scope: t(`usage.budget.scopes.${budget.scope}`) });
  return (
    <Card withBorder padding="sm" data-testid={`budget-${budget.id}`}>
      <Stack gap={6}>
        <Group justify="space-between" wrap="nowrap">
          <Group gap="xs">
            <Text fw={600}>{budget.name}</Text>
            <Badge variant="light" color="gray">
              {scope}
            </Badge>
            <Badge variant="light">{t(`usage.budget.periods.${budget.period}`)}</Badge>
            {!budget.is_active && <Badge color="gray">{t("usage.budget.inactive")}</Badge>}
          </Group>
          {onEdit && (
            <Button size="xs" variant="subtle" onClick={onEdit}>
              {t("usage.budget.edit")}
            </Button>
          )}
        </Group>
        <Box pos="relative">
          <Progress value={c.width} color={LEVEL_COLOR[c.level]} size="lg" aria-label={budget.name} />
          {budget.thresholds.map((threshold) => (
            <Tooltip key={threshold} label={`${threshold}%`}>
              <Box
                data-testid="threshold-mark"
                pos="absolute"
                top={-3}
                left={`calc(${Math.min(threshold, 100)}% - 1px)`}
                w={2}
                h="calc(100% + 6px)"
                bg="dark.3"
              />
            </Tooltip>
          ))}
        </Box>
        <Group justify="space-between">
          <Text size="sm">
            {t("usage.budget.spent", { spent: budget.metric === "tokens" ? Number(c.spent).toLocaleString() : money(c.spent), cap: budget.metric === "tokens" ? Number(budget.cap).toLocaleString() : money(budget.cap), unit, percent: c.percent })}
            {c.counters > 1 && ` · ${t("usage.budget.highest", { key: keyLabel(c.topKey), count: c.counters })}`}
          </Text>
          <Text size="xs" c="dimmed">
            {t("usage.budget.resets", { when: new Date(budget.status.resets_at).toLocaleString() })}
          </Text>
        </Group>
      </Stack>
    </Card>
  );
}

/** The fields of the form: an API error on one of them shows there, any other above the form. */
const FIELDS = ["name", "scope", "scope_key", "period", "metric", "cap", "currency", "thresholds", "webhook_url"];

interface Draft {
  name: string;
  scope: string;
  scope_key: string;
  period: string;
  metric: string;
  cap: string;
  currency: string;
  thresholds: string;
  webhook_url: string;
  is_active: boolean;
}

function draftOf(budget: BudgetRecord | null, currency: string): Draft {
  if (!budget) {
    return { name: "", scope: "workspace", scope_key: "", period: "month", metric: "cost", cap: "", currency, thresholds: "50, 80, 100", webhook_url: "", is_active: true };
  }
  return { ...budget, cap: String(Number(budget.cap)), thresholds: budget.thresholds.join(", ") };
}

/** The body sent: thresholds as numbers where they are numbers (anything else goes as typed, for the API to
 * name on its field). */
function bodyOf(draft: Draft): Record<string, unknown> {
  const thresholds = draft.thresholds
    .split(/[,，\s]+/)
    .filter(Boolean)
    .map((part) => (/^-?\d+$/.test(part) ? Number(part) : part));
  return { ...draft, cap: draft.cap.trim(), currency: draft.currency.trim(), thresholds, scope_key: draft.scope === "workspace" ? "" : draft.scope_key };
}

function BudgetForm({ ws, budget, currency, names, onDone }: { ws: string; budget: BudgetRecord | null; currency: string; names: Names; onDone: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => draftOf(budget, currency));
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const save = useMutation({
    mutationFn: async () => {
      const path = budget ? `/api/workspaces/${ws}/budgets/${budget.id}/` : `/api/workspaces/${ws}/budgets/`;
      await request(path, { method: budget ? "PATCH" : "POST", body: JSON.stringify(bodyOf(draft)) });
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: [ws, "budgets"] });
      onDone();
    },
  });
  const remove = useMutation({
    mutationFn: async () => {
      await request(`/api/workspaces/${ws}/budgets/${budget!.id}/`, { method: "DELETE" });
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: [ws, "budgets"] });
      onDone();
    },
  });
  const error = save.error instanceof ApiError ? save.error : null;
  const field = (name: string) => error?.fieldMessages(name).join(" ") || undefined;
  const choices = draft.scope === "deployment" || draft.scope === "api_key" ? names[draft.scope] : null;
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate();
      }}
    >
      <Stack gap="sm">
        {save.error && !FIELDS.some(field) && <Alert color="red">{save.error.message}</Alert>}
        {remove.error && <Alert color="red">{remove.error.message}</Alert>}
        <TextInput label={t("usage.budget.name")} value={draft.name} onChange={(e) => set({ name: e.currentTarget.value })} error={field("name")} required />
        <Group grow>
          <Select
            label={t("usage.budget.scope")}
            data={["workspace", "deployment", "api_key", "end_user"].map((value) => ({ value, label: t(`usage.budget.scopes.${value}`) }))}
            value={draft.scope}
            onChange={(value) => set({ scope: value ?? "workspace", scope_key: "" })}
            error={field("scope")}
            allowDeselect={false}
          />
          {draft.scope !== "workspace" &&
            (choices ? (
              <Select
                label={t("usage.budget.scopeKey")}
                placeholder={t("usage.budget.eachKey")}
                data={Object.entries(choices).map(([value, label]) => ({ value, label }))}
                value={draft.scope_key || null}
                onChange={(value) => set({ scope_key: value ?? "" })}
                error={field("scope_key")}
                clearable
                searchable
              />
            ) : (
              <TextInput label={t("usage.budget.scopeKey")} placeholder={t("usage.budget.eachKey")} value={draft.scope_key} onChange={(e) => set({ scope_key: e.currentTarget.value })} error={field("scope_key")} />
            ))}
        </Group>
        <Group grow>
          <Select
            label={t("usage.budget.period")}
            data={["day", "month"].map((value) => ({ value, label: t(`usage.budget.periods.${value}`) }))}
            value={draft.period}
            onChange={(value) => set({ period: value ?? "month" })}
            error={field("period")}
            allowDeselect={false}
          />
          <Select
            label={t("usage.budget.metric")}
            data={["cost", "tokens"].map((value) => ({ value, label: t(`usage.budget.metrics.${value}`) }))}
            value={draft.metric}
            onChange={(value) => set({ metric: value ?? "cost" })}
            error={field("metric")}
            allowDeselect={false}
          />
        </Group>
        <Group grow align="flex-start">
          <TextInput label={t("usage.budget.cap")} value={draft.cap} onChange={(e) => set({ cap: e.currentTarget.value })} error={field("cap")} inputMode="decimal" required />
          <TextInput label={t("usage.budget.currency")} value={draft.currency} onChange={(e) => set({ currency: e.currentTarget.value })} error={field("currency")} maxLength={3} />
        </Group>
        <TextInput label={t("usage.budget.thresholds")} description={t("usage.budget.thresholdsHelp")} value={draft.thresholds} onChange={(e) => set({ thresholds: e.currentTarget.value })} error={field("thresholds")} />
        <TextInput label={t("usage.budget.webhook")} description={t("usage.budget.webhookHelp")} value={draft.webhook_url} onChange={(e) => set({ webhook_url: e.currentTarget.value })} error={field("webhook_url")} />
        <Switch label={t("usage.budget.active")} checked={draft.is_active} onChange={(e) => set({ is_active: e.currentTarget.checked })} />
        <Group justify="space-between">
          {budget ? (
            <Button
              color="red"
              variant="light"
              loading={remove.isPending}
              onClick={() => {
                if (window.confirm(t("usage.budget.confirmDelete", { name: budget.name }))) remove.mutate();
              }}
            >
              {t("usage.budget.delete")}
            </Button>
          ) : (
            <span />
          )}
          <Button type="submit" loading={save.isPending}>
            {t("usage.budget.save")}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export function Budgets({ ws, currency, names, canManage }: { ws: string; currency: string; names: Names; canManage: boolean }) {
  const { t } = useTranslation();
  const budgets = useQuery({ queryKey: [ws, "budgets"], queryFn: () => listOf<BudgetRecord>(`/api/workspaces/${ws}/budgets/`) });
  const [editing, setEditing] = useState<BudgetRecord | "new" | null>(null);
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={3}>{t("usage.budget.title")}</Title>
        {canManage && <Button onClick={() => setEditing("new")}>{t("usage.budget.create")}</Button>}
      </Group>
      {budgets.error && <Alert color="red">{budgets.error.message}</Alert>}
      {budgets.data?.length === 0 && <Text c="dimmed">{t("usage.budget.none")}</Text>}
      {budgets.data?.map((budget) => (
        <BudgetBar key={budget.id} budget={budget} names={names} onEdit={canManage ? () => setEditing(budget) : undefined} />
      ))}
      {editing !== null && (
        <Modal opened onClose={() => setEditing(null)} title={editing === "new" ? t("usage.budget.create") : t("usage.budget.edit")} size="lg">
          <BudgetForm ws={ws} budget={editing === "new" ? null : editing} currency={currency} names={names} onDone={() => setEditing(null)} />
        </Modal>
      )}
    </Stack>
  );
}
