// Import a CSV or JSONL file into a dataset's draft, by drop or file picker. The server imports all or nothing;
// a refused file's problems are listed one per line of the file.
import { Alert, Paper, SegmentedControl, Stack, Table, Text } from "@mantine/core";
import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { importFile } from "./api";
import { importProblems, type DatasetRow, type ImportProblem } from "./items";

interface Props {
  ws: string;
  slug: string;
  disabled: boolean;
  onImported: (dataset: DatasetRow) => void;
}

type Outcome =
  | { kind: "busy"; name: string }
  | { kind: "done"; name: string; count: number }
  | { kind: "refused"; name: string; problems: ImportProblem[]; byLine: boolean };

export const IMPORT_EXTENSIONS = ["csv", "jsonl"] as const;

export function ImportPanel({ ws, slug, disabled, onImported }: Props) {
  const { t } = useTranslation();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [mode, setMode] = useState<"append" | "replace">("append");
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const send = async (file: File | undefined) => {
    if (!file || disabled || outcome?.kind === "busy") return;
    const extension = file.name.split(".").pop()?.toLowerCase() ?? "";
    if (!(IMPORT_EXTENSIONS as readonly string[]).includes(extension)) {
      setOutcome({ kind: "refused", name: file.name, problems: [{ line: null, message: t("datasets.badExtension") }], byLine: false });
      return;
    }
    setOutcome({ kind: "busy", name: file.name });
    try {
      const dataset = await importFile(ws, slug, file, mode);
      setOutcome({ kind: "done", name: file.name, count: dataset.draft.items?.length ?? 0 });
      onImported(dataset);
    } catch (error) {
      const problems = error instanceof ApiError ? importProblems(error) : [{ line: null, message: String(error) }];
      setOutcome({ kind: "refused", name: file.name, problems, byLine: problems.some((p) => p.line !== null) });
    }
  };

  return (
    <Stack gap="xs">
      <SegmentedControl
        aria-label={t("datasets.mode")}
        value={mode}
        onChange={(value) => setMode(value === "replace" ? "replace" : "append")}
        data={[{ value: "append", label: t("datasets.append") }, { value: "replace", label: t("datasets.replace") }]}
        disabled={disabled}
        style={{ alignSelf: "flex-start" }}
      />
      <Paper
        withBorder
        p="md"
        data-testid="import-dropzone"
        style={{ borderStyle: "dashed", textAlign: "center", background: over ? "var(--mantine-color-blue-light)" : undefined, cursor: disabled ? "not-allowed" : "pointer" }}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); void send(e.dataTransfer.files[0]); }}
        onClick={() => { if (!disabled) input.current?.click(); }}
      >
        <Text>{t("datasets.dropHere")}</Text>
        <Text size="xs" c="dimmed">{t("datasets.formats")}</Text>
        <input
          ref={input}
          type="file"
          hidden
          aria-label={t("datasets.chooseFile")}
          accept=".csv,.jsonl"
          disabled={disabled}
          onChange={(e) => { void send(e.currentTarget.files?.[0]); e.currentTarget.value = ""; }}
        />
      </Paper>
      {outcome?.kind === "busy" && <Text size="sm" c="dimmed">{t("datasets.importing", { name: outcome.name })}</Text>}
      {outcome?.kind === "done" && <Alert color="green">{t("datasets.imported", { name: outcome.name, count: outcome.count })}</Alert>}
      {outcome?.kind === "refused" && (
        <Alert color="red" role="alert" title={outcome.byLine ? t("datasets.importFailed", { name: outcome.name }) : t("datasets.importRefused", { name: outcome.name })}>
          <Table data-testid="import-problems" withRowBorders={false} verticalSpacing={2}>
            {outcome.byLine && (
              <Table.Thead><Table.Tr><Table.Th w={80}>{t("datasets.line")}</Table.Th><Table.Th>{t("datasets.problem")}</Table.Th></Table.Tr></Table.Thead>
            )}
            <Table.Tbody>
              {outcome.problems.map((problem, i) => (
                <Table.Tr key={`${problem.line ?? "-"}-${i}`} data-line={problem.line ?? undefined}>
                  {outcome.byLine && <Table.Td>{problem.line ?? ""}</Table.Td>}
                  <Table.Td>{problem.message}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Alert>
      )}
    </Stack>
  );
}
