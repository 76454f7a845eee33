// Drop or pick several files; each is checked against the server's limits before sending, then has a progress
// bar from its upload (XHR progress) through parsing, chunking and embedding (the reducer in uploads.ts).
import { Badge, Button, Group, Paper, Progress, Stack, Text } from "@mantine/core";
import { useRef, useState, type Dispatch } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useWorkspaceSlug } from "../session";
import { uploadFile } from "./api";
import type { UploadLimits } from "./types";
import { formatBytes, isActive, percent, refusal, type UploadAction, type UploadItem } from "./uploads";

export const PHASE_COLOR: Record<string, string> = {
  refused: "red", upload_failed: "red", failed: "red", ready: "green", uploading: "blue",
  queued: "gray", parsing: "cyan", chunking: "cyan", embedding: "indigo",
};

let counter = 0;

interface Props {
  knowledgeBase: string;
  limits: UploadLimits;
  items: UploadItem[];
  dispatch: Dispatch<UploadAction>;
  onCreated: () => void;
  disabled: boolean;
}

export function Uploader({ knowledgeBase, limits, items, dispatch, onCreated, disabled }: Props) {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);

  const add = (files: File[]) => {
    if (disabled || !files.length) return;
    const keyed = files.map((file) => ({ file, key: `upload-${(counter += 1)}` }));
    dispatch({ type: "add", files: keyed.map(({ file, key }) => ({ key, name: file.name, size: file.size })), limits });
    for (const { file, key } of keyed) {
      if (refusal(file, limits)) continue; // shown as refused by the reducer, never sent
      uploadFile(ws, knowledgeBase, file, (loaded, total) => dispatch({ type: "sent", key, loaded, total }))
        .then((document) => {
          dispatch({ type: "created", key, document });
          onCreated();
        })
        .catch((error: unknown) => {
          const message = error instanceof ApiError ? (error.fieldMessages("file")[0] ?? error.message) : String(error);
          dispatch({ type: "upload_failed", key, message });
        });
    }
  };

  const message = (item: UploadItem): string => {
    if (item.refusal?.kind === "size") return t("knowledge.tooLarge", { size: formatBytes(item.refusal.size), limit: formatBytes(item.refusal.limit), bytes: item.refusal.limit });
    if (item.refusal?.kind === "format") return t("knowledge.badFormat", { extension: item.refusal.extension || "—", formats: item.refusal.formats.join(", ") });
    return item.error;
  };

  return (
    <Stack gap="xs">
      <Paper
        withBorder
        p="lg"
        data-testid="dropzone"
        style={{ borderStyle: "dashed", textAlign: "center", background: over ? "var(--mantine-color-blue-light)" : undefined, cursor: disabled ? "not-allowed" : "pointer" }}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); add(Array.from(e.dataTransfer.files)); }}
        onClick={() => input.current?.click()}
      >
        <Text>{t("knowledge.dropHere")}</Text>
        <Text size="xs" c="dimmed">{t("knowledge.limits", { formats: limits.formats.join(", "), limit: formatBytes(limits.max_bytes) })}</Text>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          aria-label={t("knowledge.chooseFiles")}
          accept={limits.formats.map((f) => `.${f}`).join(",")}
          disabled={disabled}
          onChange={(e) => { add(Array.from(e.currentTarget.files ?? [])); e.currentTarget.value = ""; }}
        />
      </Paper>
      {items.map((item) => (
        <Paper key={item.key} withBorder p="xs" data-testid="upload" data-name={item.name} data-phase={item.phase}>
          <Group justify="space-between" wrap="nowrap">
            <Text size="sm" truncate>{item.name} <Text span c="dimmed" size="xs">{formatBytes(item.size)}</Text></Text>
            <Group gap="xs" wrap="nowrap">
              <Badge color={PHASE_COLOR[item.phase] ?? "gray"} variant="light">{t(`knowledge.phases.${item.phase}`)}</Badge>
              <Text size="xs" w={36} ta="right">{item.phase === "refused" ? "" : `${percent(item)}%`}</Text>
            </Group>
          </Group>
          {item.phase !== "refused" && (
            <Progress mt={4} value={percent(item)} color={PHASE_COLOR[item.phase]} animated={isActive(item)} aria-label={item.name} />
          )}
          {message(item) && <Text size="xs" c="red" mt={4} role="alert">{message(item)}</Text>}
        </Paper>
      ))}
      {items.some((i) => !isActive(i)) && (
        <Group justify="flex-end">
          <Button size="xs" variant="subtle" onClick={() => dispatch({ type: "clear" })}>{t("knowledge.clearFinished")}</Button>
        </Group>
      )}
    </Stack>
  );
}

