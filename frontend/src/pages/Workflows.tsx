// Workflows: the list, a new workflow (start -> end), YAML import and Dify DSL import with its report.
import { Alert, Button, FileButton, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { ApiError, request } from "../api/client";
import { CodeEditor } from "../components/CodeEditor";
import { ResourceList } from "../components/ResourceList";
import { useCan, useWorkspaceSlug } from "../session";

export function starterWorkflow() {
  return {
    name: "",
    inputs: [{ name: "question", type: "text", required: true }],
    nodes: [
      { id: "start", type: "start", position: { x: 0, y: 80 } },
      { id: "end", type: "end", config: { outputs: { answer: "start.question" } }, position: { x: 360, y: 80 } },
    ],
    edges: [{ source: "start", target: "end" }],
    outputs: [{ name: "answer", type: "string" }],
  };
}

interface ImportReport {
  ok?: boolean;
  problems?: { message: string; node_id?: string }[];
  warnings?: { message: string; node_id?: string }[];
  [extra: string]: unknown;
}

function ImportDialog({ dify, onClose }: { dify: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [slug, setSlug] = useState("");
  const [document, setDocument] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true); setError(null); setReport(null);
    try {
      const path = dify ? "import-dify" : "import";
      const response = await request(`/api/workspaces/${ws}/workflows/${path}/`, { method: "POST", body: JSON.stringify({ slug, document }) });
      const body = (await response.json()) as { slug?: string; workflow?: { slug: string }; report?: ImportReport };
      await queryClient.invalidateQueries({ queryKey: [ws, "workflows"] });
      if (body.report) setReport(body.report);
      const created = body.workflow?.slug ?? body.slug;
      if (created && !dify) navigate(`/w/${ws}/workflows/${created}`);
      if (created && dify) setReport({ ...(body.report ?? {}), created } as ImportReport);
    } catch (e) {
      if (e instanceof ApiError) {
        setError(e);
        const raw = (e.raw as { report?: ImportReport } | undefined)?.report;
        if (raw) setReport(raw);
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={dify ? t("workflows.importDify") : t("workflows.importYaml")} size="lg">
      <Stack>
        <TextInput label={t("common.slug")} value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={error?.fieldMessages("slug")[0]} required />
        <FileButton onChange={async (file) => file && setDocument(await file.text())} accept=".yml,.yaml,.json">
          {(props) => <Button variant="default" {...props}>{t("common.import")}…</Button>}
        </FileButton>
        <CodeEditor label={t("workflows.document")} language="yaml" value={document} onChange={setDocument} height="220px" />
        {error && (
          <Alert color="red" role="alert" title={t("workflows.importFailed")}>
            {error.message}
            {Object.entries(error.fields).map(([k, v]) => <div key={k}><code>{k}</code>: {v.join(" ")}</div>)}
          </Alert>
        )}
        {report && (
          <Alert color={(report as { created?: string }).created ? "green" : "orange"} title={t("workflows.report")} data-testid="import-report">
            <Text size="sm" component="pre" style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify(report, null, 2)}</Text>
            {(report as { created?: string }).created && (
              <Button mt="xs" size="xs" onClick={() => navigate(`/w/${ws}/workflows/${(report as { created?: string }).created}`)}>{t("common.open")}</Button>
            )}
          </Alert>
        )}
        <Group justify="flex-end"><Button onClick={submit} loading={busy}>{t("common.import")}</Button></Group>
      </Stack>
    </Modal>
  );
}

export default function Workflows() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const canEdit = useCan("editor");
  const [importing, setImporting] = useState<"yaml" | "dify" | null>(null);
  return (
    <>
      <ResourceList
        kind="workflows"
        title={t("workflows.title")}
        empty={t("workflows.empty")}
        createLabel={t("workflows.create")}
        initialDraft={starterWorkflow}
        linkTo={(r) => `/w/${ws}/workflows/${r.slug}`}
        toolbar={
          <>
            <Button variant="default" disabled={!canEdit} onClick={() => setImporting("yaml")}>{t("workflows.importYaml")}</Button>
            <Button variant="default" disabled={!canEdit} onClick={() => setImporting("dify")}>{t("workflows.importDify")}</Button>
          </>
        }
      />
      {importing && <ImportDialog dify={importing === "dify"} onClose={() => setImporting(null)} />}
    </>
  );
}
