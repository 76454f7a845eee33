// Tools: the built-ins that need no account, the credentialed built-ins, custom OpenAPI providers and MCP
// servers (each with its tools, enable/disable, refresh, delete), a tool's detail with a test call, and the
// recent calls.
import { Alert, Badge, Button, Card, Group, Modal, Stack, Tabs, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useCan } from "../session";
import { useBuiltinCatalogue, useProviders, useWorkspaceTools, type BuiltinProvider, type ToolProvider, type ToolSpec } from "../tools/api";
import { CallLog } from "../tools/CallLog";
import { ProviderCard, ToolTable } from "../tools/ProviderCard";
import { BuiltinSetupForm, McpForm, OpenapiForm } from "../tools/ProviderForms";
import { ToolDetail } from "../tools/ToolDetail";

type Dialog = { kind: "openapi" | "mcp"; existing?: ToolProvider } | { kind: "builtin"; info: BuiltinProvider; existing?: ToolProvider };

function Credentialed({ onOpen, onPreview, onSetUp }: { onOpen: (tool: ToolSpec, provider: ToolProvider) => void; onPreview: (tool: ToolSpec) => void; onSetUp: (info: BuiltinProvider, existing?: ToolProvider) => void }) {
  const { t } = useTranslation();
  const canEdit = useCan("editor");
  const catalogue = useBuiltinCatalogue();
  const providers = useProviders();
  return (
    <Stack>
      <Text c="dimmed">{t("tools.credentialedIntro")}</Text>
      {catalogue.error && <Alert color="red">{catalogue.error.message}</Alert>}
      {(catalogue.data ?? []).map((info) => {
        const existing = providers.data?.find((p) => p.kind === "builtin" && p.builtin_provider === info.name);
        const credentialLines = info.credentials.map((field) => {
          const value = field.secret ? (existing?.credentials_set.includes(field.name) ? t("tools.secretSet") : "—") : existing?.settings[field.name] || "—";
          return <Text key={field.name} size="sm"><Text span c="dimmed">{field.label}: </Text>{value}</Text>;
        });
        if (existing) {
          return (
            <ProviderCard key={info.name} provider={existing} onOpen={onOpen}
              actions={<Button size="xs" variant="light" disabled={!canEdit} onClick={() => onSetUp(info, existing)}>{t("tools.edit")}</Button>}>
              {credentialLines}
            </ProviderCard>
          );
        }
        return (
          <Card withBorder key={info.name} data-testid={`catalogue-${info.name}`}>
            <Stack gap="xs">
              <Group justify="space-between">
                <Group gap="xs"><Title order={4}>{info.label}</Title><Badge color="gray" variant="light">{t("tools.notConfigured")}</Badge></Group>
                <Button size="xs" disabled={!canEdit} title={canEdit ? undefined : t("common.readOnly")} onClick={() => onSetUp(info)}>{t("tools.setUp")}</Button>
              </Group>
              <Text size="sm" c="dimmed">{info.description}</Text>
              <ToolTable tools={info.tools} onOpen={(tool) => onPreview(tool)} />
            </Stack>
          </Card>
        );
      })}
    </Stack>
  );
}

function ProviderList({ kind, onOpen, onEdit }: { kind: "openapi" | "mcp"; onOpen: (tool: ToolSpec, provider: ToolProvider) => void; onEdit: (provider: ToolProvider) => void }) {
  const { t } = useTranslation();
  const canEdit = useCan("editor");
  const providers = useProviders();
  const mine = (providers.data ?? []).filter((p) => p.kind === kind);
  if (providers.data && mine.length === 0) return <Text c="dimmed">{kind === "openapi" ? t("tools.noOpenapi") : t("tools.noMcp")}</Text>;
  return (
    <Stack>
      {mine.map((provider) => (
        <ProviderCard key={provider.slug} provider={provider} onOpen={onOpen}
          actions={<Button size="xs" variant="light" disabled={!canEdit} onClick={() => onEdit(provider)}>{t("tools.editProvider")}</Button>}>
          {kind === "openapi" && provider.base_url && <Text size="sm"><Text span c="dimmed">{t("tools.baseUrl")}: </Text><code>{provider.base_url}</code></Text>}
          {provider.url && <Text size="sm"><Text span c="dimmed">{t("tools.url")}: </Text><code>{provider.url}</code>{provider.transport ? ` · ${t(`tools.transports.${provider.transport}`)}` : ""}</Text>}
          {provider.credentials_set.length > 0 && (
            <Group gap={4}>
              {provider.credentials_set.map((name) => <Badge key={name} variant="outline" size="sm">{name}: {t("tools.secretSet")}</Badge>)}
            </Group>
          )}
        </ProviderCard>
      ))}
    </Stack>
  );
}

export default function Tools() {
  const { t } = useTranslation();
  const canEdit = useCan("editor");
  const tools = useWorkspaceTools();
  const [tab, setTab] = useState<string | null>("builtin");
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [open, setOpen] = useState<{ tool: ToolSpec; unavailable?: string } | null>(null);
  const onOpen = (tool: ToolSpec, provider?: ToolProvider) =>
    setOpen({ tool, ...(provider?.enabled === false ? { unavailable: t("tools.disabledProvider") } : {}) });
  const builtins = (tools.data ?? []).filter((tool) => tool.provider === null);
  const close = () => setDialog(null);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("tools.title")}</Title>
        {tab === "openapi" && <Button disabled={!canEdit} onClick={() => setDialog({ kind: "openapi" })}>{t("tools.addOpenapi")}</Button>}
        {tab === "mcp" && <Button disabled={!canEdit} onClick={() => setDialog({ kind: "mcp" })}>{t("tools.addMcp")}</Button>}
      </Group>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          {(["builtin", "credentialed", "openapi", "mcp", "calls"] as const).map((name) => (
            <Tabs.Tab key={name} value={name}>{t(`tools.tabs.${name}`)}</Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="builtin" pt="md">
          <Stack>
            <Text c="dimmed">{t("tools.builtinIntro")}</Text>
            {tools.error && <Alert color="red">{tools.error.message}</Alert>}
            <ToolTable tools={builtins} onOpen={(tool) => onOpen(tool)} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="credentialed" pt="md">
          <Credentialed onOpen={onOpen} onPreview={(tool) => setOpen({ tool, unavailable: t("tools.notSetUp") })} onSetUp={(info, existing) => setDialog({ kind: "builtin", info, ...(existing ? { existing } : {}) })} />
        </Tabs.Panel>
        <Tabs.Panel value="openapi" pt="md">
          <Stack><Text c="dimmed">{t("tools.openapiIntro")}</Text><ProviderList kind="openapi" onOpen={onOpen} onEdit={(existing) => setDialog({ kind: "openapi", existing })} /></Stack>
        </Tabs.Panel>
        <Tabs.Panel value="mcp" pt="md">
          <Stack><Text c="dimmed">{t("tools.mcpIntro")}</Text><ProviderList kind="mcp" onOpen={onOpen} onEdit={(existing) => setDialog({ kind: "mcp", existing })} /></Stack>
        </Tabs.Panel>
        <Tabs.Panel value="calls" pt="md">
          <CallLog />
        </Tabs.Panel>
      </Tabs>
      {dialog?.kind === "openapi" && (
        <Modal opened onClose={close} title={dialog.existing?.name ?? t("tools.addOpenapi")} size="xl">
          <OpenapiForm {...(dialog.existing ? { existing: dialog.existing } : {})} onDone={close} />
        </Modal>
      )}
      {dialog?.kind === "mcp" && (
        <Modal opened onClose={close} title={dialog.existing?.name ?? t("tools.addMcp")} size="lg">
          <McpForm {...(dialog.existing ? { existing: dialog.existing } : {})} onDone={close} />
        </Modal>
      )}
      {dialog?.kind === "builtin" && (
        <Modal opened onClose={close} title={dialog.info.label} size="lg">
          <BuiltinSetupForm info={dialog.info} {...(dialog.existing ? { existing: dialog.existing } : {})} onDone={close} />
        </Modal>
      )}
      {open && (
        <ToolDetail
          key={open.tool.name}
          tool={open.tool}
          {...(open.unavailable ? { unavailable: open.unavailable } : {})}
          onClose={() => setOpen(null)}
        />
      )}
    </Stack>
  );
}
