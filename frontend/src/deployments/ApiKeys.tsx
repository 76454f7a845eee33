// API keys that can call a deployment: create (the token shown once, with a copy button and a warning),
// scopes, per-key rate limit, expiry, revocation.
import { Alert, Badge, Button, Checkbox, Code, CopyButton, Group, Modal, NumberInput, Stack, Table, Text, TextInput } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { keysFor, useApiKeys, useCreateKey, useRevokeKey, type ApiKey, type ApiKeyBody, type ApiKeyCreated } from "./api";

const SCOPES = ["run", "read", "chat"] as const;

/** A `datetime-local` value (the browser's local time) as an ISO instant, or null when empty. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function keyState(key: ApiKey, now: number): "revoked" | "expired" | "active" {
  if (key.revoked) return "revoked";
  if (key.expires_at && Date.parse(key.expires_at) <= now) return "expired";
  return "active";
}

function CreateKeyForm({ slug, onCreated }: { slug: string; onCreated: (key: ApiKeyCreated) => void }) {
  const { t } = useTranslation();
  const create = useCreateKey();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([...SCOPES]);
  const [onlyThis, setOnlyThis] = useState(true);
  const [rpm, setRpm] = useState<number | string>("");
  const [expires, setExpires] = useState("");
  const error = create.error instanceof ApiError ? create.error : null;
  const field = (path: string) => error?.fieldMessages(path).join(" ") || undefined;
  const placed = ["name", "scopes", "deployments", "requests_per_minute", "expires_at"].some((f) => error?.fieldMessages(f).length);
  const submit = () => {
    const body: Partial<ApiKeyBody> = {
      name, scopes: scopes as ApiKeyBody["scopes"], deployments: onlyThis ? [slug] : [],
      requests_per_minute: rpm === "" ? null : Number(rpm), expires_at: localToIso(expires),
    };
    create.mutate(body, { onSuccess: onCreated });
  };
  return (
    <Stack component="form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {error && !placed && <Alert color="red" role="alert">{error.message}</Alert>}
      <TextInput label={t("deployments.keyName")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={field("name")} required data-autofocus />
      <Checkbox.Group label={t("deployments.scopes")} value={scopes} onChange={setScopes} error={field("scopes")}>
        <Stack gap={4} mt={4}>
          <Checkbox value="run" label={t("deployments.scopeRun")} />
          <Checkbox value="read" label={t("deployments.scopeRead")} />
          <Checkbox value="chat" label={t("deployments.scopeChat")} />
        </Stack>
      </Checkbox.Group>
      <Checkbox label={t("deployments.onlyThis")} checked={onlyThis} onChange={(e) => setOnlyThis(e.currentTarget.checked)} error={field("deployments")} />
      <Group grow align="flex-start">
        <NumberInput label={t("deployments.rpm")} description={t("deployments.rpmHelp")} min={1} value={rpm} onChange={setRpm} error={field("requests_per_minute")} />
        <TextInput type="datetime-local" label={t("deployments.expires")} description={t("deployments.expiresHelp")} value={expires} onChange={(e) => setExpires(e.currentTarget.value)} error={field("expires_at")} />
      </Group>
      <Group justify="flex-end"><Button type="submit" loading={create.isPending}>{t("common.create")}</Button></Group>
    </Stack>
  );
}

function TokenOnce({ created, onClose }: { created: ApiKeyCreated; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Stack>
      <Alert color="orange" role="alert">{t("deployments.tokenWarning")}</Alert>
      <Code block data-testid="new-token" style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }}>{created.token}</Code>
      <Group justify="space-between">
        <CopyButton value={created.token}>
          {({ copied, copy }) => <Button variant="light" color={copied ? "teal" : undefined} onClick={copy}>{copied ? t("deployments.copied") : t("deployments.copy")}</Button>}
        </CopyButton>
        <Button onClick={onClose}>{t("deployments.tokenDone")}</Button>
      </Group>
    </Stack>
  );
}

export function ApiKeys({ slug, canEdit }: { slug: string; canEdit: boolean }) {
  const { t } = useTranslation();
  const keys = useApiKeys();
  const revoke = useRevokeKey();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const rows = keysFor(keys.data ?? [], slug);
  const [now] = useState(() => Date.now());
  return (
    <Stack>
      <Group justify="flex-end">
        <Button size="xs" onClick={() => { setCreated(null); setCreating(true); }} disabled={!canEdit}>{t("deployments.keyCreate")}</Button>
      </Group>
      {rows.length === 0 && <Text c="dimmed">{t("deployments.keysEmpty")}</Text>}
      {rows.length > 0 && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("deployments.keyName")}</Table.Th><Table.Th>{t("deployments.keyPrefix")}</Table.Th><Table.Th>{t("deployments.scopes")}</Table.Th>
              <Table.Th>{t("deployments.keyDeployments")}</Table.Th><Table.Th>{t("deployments.rpm")}</Table.Th><Table.Th>{t("deployments.expires")}</Table.Th>
              <Table.Th>{t("deployments.lastUsed")}</Table.Th><Table.Th>{t("deployments.status")}</Table.Th><Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((key) => {
              const state = keyState(key, now);
              return (
                <Table.Tr key={key.id}>
                  <Table.Td>{key.name}</Table.Td>
                  <Table.Td><code>{key.prefix}…</code></Table.Td>
                  <Table.Td>{(key.scopes as string[]).map((s) => <Badge key={s} variant="light" size="sm" mr={4}>{s}</Badge>)}</Table.Td>
                  <Table.Td>{key.deployments.length ? key.deployments.join(", ") : t("deployments.allDeployments")}</Table.Td>
                  <Table.Td>{key.requests_per_minute ?? "—"}</Table.Td>
                  <Table.Td>{key.expires_at ? new Date(key.expires_at).toLocaleString() : t("deployments.never")}</Table.Td>
                  <Table.Td>{key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "—"}</Table.Td>
                  <Table.Td>{state === "active" ? <Badge color="green">{t("deployments.active")}</Badge> : <Badge color="gray">{t(`deployments.${state}`)}</Badge>}</Table.Td>
                  <Table.Td>{state !== "revoked" && canEdit && <Button size="xs" color="red" variant="subtle" onClick={() => setRevoking(key)}>{t("deployments.revoke")}</Button>}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      {creating && (
        <Modal opened onClose={() => setCreating(false)} title={created ? t("deployments.tokenTitle") : t("deployments.keyCreate")} closeOnClickOutside={!created} size="lg">
          {created ? <TokenOnce created={created} onClose={() => { setCreated(null); setCreating(false); }} /> : <CreateKeyForm slug={slug} onCreated={setCreated} />}
        </Modal>
      )}
      {revoking && (
        <Modal opened onClose={() => setRevoking(null)} title={t("deployments.revoke")}>
          <Stack>
            <Text>{t("deployments.revokeConfirm")}</Text>
            <Text fw={500}>{revoking.name} (<code>{revoking.prefix}…</code>)</Text>
            {revoke.error && <Alert color="red">{(revoke.error as Error).message}</Alert>}
            <Group justify="flex-end">
              <Button color="red" loading={revoke.isPending} onClick={() => revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}>{t("deployments.revoke")}</Button>
            </Group>
          </Stack>
        </Modal>
      )}
    </Stack>
  );
}
