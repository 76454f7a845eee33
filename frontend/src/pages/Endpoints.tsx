// Model endpoints: provider presets (incl. the Chinese clouds), write-only credentials, prices, connection test.
import { Badge, Button, Group, NumberInput, PasswordInput, Select, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, request } from "../api/client";
import { ResourceList, type Resource } from "../components/ResourceList";
import { useCan, useWorkspaceSlug } from "../session";

export const PROVIDERS: { value: string; label: string; baseUrl?: string; model?: string; currency?: string }[] = [
  { value: "openai", label: "OpenAI", model: "gpt-4o-mini" },
  { value: "azure_openai", label: "Azure OpenAI" },
  { value: "anthropic", label: "Anthropic", model: "claude-sonnet-4-5" },
  { value: "deepseek", label: "DeepSeek 深度求索", model: "deepseek-chat", currency: "CNY" },
  { value: "dashscope", label: "DashScope 通义千问", model: "qwen-plus", currency: "CNY" },
  { value: "moonshot", label: "Moonshot 月之暗面 (Kimi)", model: "moonshot-v1-8k", currency: "CNY" },
  { value: "zhipu", label: "Zhipu 智谱 (GLM)", model: "glm-4-flash", currency: "CNY" },
  { value: "baichuan", label: "Baichuan 百川", model: "Baichuan4", currency: "CNY" },
  { value: "doubao", label: "Doubao 豆包 (Volcengine Ark)", currency: "CNY" },
  { value: "qianfan", label: "Baidu Qianfan 千帆", currency: "CNY" },
  { value: "ollama", label: "Ollama", baseUrl: "http://127.0.0.1:11434/v1" },
  { value: "vllm", label: "vLLM", baseUrl: "http://127.0.0.1:8000/v1" },
  { value: "llamacpp", label: "llama.cpp server", baseUrl: "http://127.0.0.1:8080/v1" },
  { value: "openai_compatible", label: "OpenAI-compatible" },
];

function TestButton({ slug }: { slug: string }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const [busy, setBusy] = useState(false);
  const test = async () => {
    setBusy(true);
    try {
      const response = await request(`/api/workspaces/${ws}/model-endpoints/${slug}/test/`, { method: "POST", body: "{}" });
      const result = (await response.json()) as { ok: boolean; latency_ms: number; error?: { message?: string } | null };
      notifications.show({
        color: result.ok ? "green" : "red",
        title: result.ok ? t("endpoints.testOk") : t("endpoints.testFailed"),
        message: result.ok ? `${slug}: ${result.latency_ms} ms` : (result.error?.message ?? ""),
      });
    } catch (e) {
      notifications.show({ color: "red", title: t("endpoints.testFailed"), message: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button size="xs" variant="light" loading={busy} onClick={test}>
      {t("endpoints.test")}
    </Button>
  );
}

function CreateFields({ set, error }: { set: (body: Record<string, unknown>) => void; error: ApiError | null }) {
  const { t } = useTranslation();
  const [provider, setProvider] = useState("openai_compatible");
  const [model, setModel] = useState("");
  const [modelType, setModelType] = useState("chat");
  const [baseUrl, setBaseUrl] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [input, setInput] = useState<number>(0);
  const [output, setOutput] = useState<number>(0);
  const [currency, setCurrency] = useState("USD");
  const apply = (patch: Partial<{ provider: string; model: string; modelType: string; baseUrl: string; apiKey: string; input: number; output: number; currency: string }>) => {
    const v = { provider, model, modelType, baseUrl, apiKey, input, output, currency, ...patch };
    set({
      draft: { provider_kind: v.provider, model: v.model, model_type: v.modelType, base_url: v.baseUrl, prices: { input: v.input, output: v.output, currency: v.currency } },
      credentials: v.apiKey ? { api_key: v.apiKey } : null,
    });
  };
  const field = (path: string) => error?.fieldMessages(path)[0];
  return (
    <>
      <Select
        label={t("endpoints.provider")}
        data={PROVIDERS.map(({ value, label }) => ({ value, label }))}
        value={provider}
        searchable
        onChange={(value) => {
          const preset = PROVIDERS.find((p) => p.value === value);
          const next = { provider: value ?? "openai_compatible", baseUrl: preset?.baseUrl ?? "", model: preset?.model ?? model, currency: preset?.currency ?? "USD" };
          setProvider(next.provider); setBaseUrl(next.baseUrl); setModel(next.model); setCurrency(next.currency);
          apply(next);
        }}
        error={field("draft.provider_kind")}
      />
      <TextInput label={t("endpoints.model")} value={model} onChange={(e) => { setModel(e.currentTarget.value); apply({ model: e.currentTarget.value }); }} error={field("draft.model")} required />
      <Select label={t("endpoints.modelType")} data={["chat", "embedding", "rerank"]} value={modelType} onChange={(value) => { setModelType(value ?? "chat"); apply({ modelType: value ?? "chat" }); }} error={field("draft.model_type")} />
      <TextInput label={t("endpoints.baseUrl")} value={baseUrl} onChange={(e) => { setBaseUrl(e.currentTarget.value); apply({ baseUrl: e.currentTarget.value }); }} error={field("draft.base_url")} />
      <PasswordInput label={t("endpoints.apiKey")} value={apiKey} autoComplete="off" onChange={(e) => { setApiKey(e.currentTarget.value); apply({ apiKey: e.currentTarget.value }); }} error={field("credentials")} />
      <Group grow>
        <NumberInput label={`${t("endpoints.prices")} ↑`} min={0} value={input} onChange={(v) => { setInput(Number(v) || 0); apply({ input: Number(v) || 0 }); }} error={field("draft.prices.input")} />
        <NumberInput label="↓" min={0} value={output} onChange={(v) => { setOutput(Number(v) || 0); apply({ output: Number(v) || 0 }); }} error={field("draft.prices.output")} />
        <Select label={t("endpoints.currency")} data={["USD", "CNY"]} value={currency} onChange={(v) => { setCurrency(v ?? "USD"); apply({ currency: v ?? "USD" }); }} error={field("draft.prices.currency")} />
      </Group>
    </>
  );
}

export default function Endpoints() {
  const { t } = useTranslation();
  const canEdit = useCan("editor");
  const draft = (r: Resource) => (r.draft ?? {}) as { provider_kind?: string; model?: string; model_type?: string };
  return (
    <ResourceList
      kind="model-endpoints"
      title={t("endpoints.title")}
      empty={t("endpoints.empty")}
      createLabel={t("endpoints.create")}
      initialDraft={() => ({ provider_kind: "openai_compatible", model: "", model_type: "chat" })}
      extraCreateFields={(set, error) => <CreateFields set={set} error={error} />}
      columns={[
        { header: t("endpoints.provider"), cell: (r) => PROVIDERS.find((p) => p.value === draft(r).provider_kind)?.label ?? draft(r).provider_kind },
        { header: t("endpoints.model"), cell: (r) => <Text size="sm">{draft(r).model} <Badge variant="light" size="xs">{draft(r).model_type}</Badge></Text> },
        { header: t("endpoints.apiKey"), cell: (r) => (r.has_credentials ? `${t("endpoints.credentialsSet")} ${String(r.credentials_hint ?? "")}` : t("endpoints.noCredentials")) },
        { header: t("common.actions"), cell: (r) => (canEdit ? <TestButton slug={r.slug} /> : null) },
      ]}
    />
  );
}
