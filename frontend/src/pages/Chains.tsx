import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ResourcePicker } from "../components/Pickers";
import { ResourceList } from "../components/ResourceList";
import type { ApiError } from "../api/client";

function ChainFields({ set, error }: { set: (body: Record<string, unknown>) => void; error: ApiError | null }) {
  const { t } = useTranslation();
  const [prompt, setPrompt] = useState<string | null>(null);
  const [model, setModel] = useState<string | null>(null);
  const apply = (p: string | null, m: string | null) => set({ draft: { prompt: { slug: p ?? "" }, ...(m ? { model: m } : {}) } });
  return (
    <>
      <ResourcePicker kind="prompts" label={t("nav.prompts")} value={prompt} onChange={(v) => { setPrompt(v); apply(v, model); }} error={error?.fieldMessages("draft.prompt")[0]} required />
      <ResourcePicker kind="model-endpoints" modelType="chat" label={t("prompts.model")} value={model} onChange={(v) => { setModel(v); apply(prompt, v); }} error={error?.fieldMessages("draft.model")[0]} />
    </>
  );
}

export default function Chains() {
  const { t } = useTranslation();
  return (
    <ResourceList
      kind="chains"
      title={t("chains.title")}
      empty={t("chains.empty")}
      createLabel={t("chains.create")}
      initialDraft={() => ({ prompt: { slug: "" } })}
      extraCreateFields={(set, error) => <ChainFields set={set} error={error} />}
      columns={[{ header: t("nav.prompts"), cell: (r) => ((r.draft ?? {}) as { prompt?: { slug?: string } }).prompt?.slug ?? "" }]}
    />
  );
}
