// A dataset's items as a paged table: one column per input (a JSON column when there are many), the expected
// output, metadata and tags. A row is edited in place (double-click a cell, or Edit), added or deleted; each
// change is saved to the draft at once, and the server's problems with a row are shown on it.
import { ActionIcon, Alert, Badge, Button, Group, Pagination, Stack, Table, Text, Textarea, TextInput } from "@mantine/core";
import { Fragment, useEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import {
  cellText, draftProblems, emptyRow, inputNames, itemOf, PAGE_SIZE, pageCount, pageOf, rowOf, withRow,
  type DatasetItem, type RowDraft, type RowField, type RowProblems,
} from "./items";

interface Props {
  items: DatasetItem[];
  canEdit: boolean;
  /** Saves the whole list as the draft; rejects with the server's error. */
  save: (items: DatasetItem[]) => Promise<unknown>;
}

interface Editing {
  index: number | null; // null: a new row
  row: RowDraft;
  focus: RowField;
}

const MONO = { input: { fontFamily: "var(--mantine-font-family-monospace)" } };

function Cell({ children, onEdit }: { children: ReactNode; onEdit?: () => void }) {
  return (
    <Table.Td onDoubleClick={onEdit} style={{ maxWidth: 320, verticalAlign: "top" }}>
      <Text size="sm" lineClamp={3} style={{ whiteSpace: "pre-wrap", wordBreak: "break-word" }}>{children}</Text>
    </Table.Td>
  );
}

function RowEditor({ editing, setEditing, problems, server, busy, onSave, onCancel }: {
  editing: Editing; setEditing: (e: Editing) => void; problems: RowProblems; server: string[]; busy: boolean;
  onSave: () => void; onCancel: () => void;
}) {
  const { t } = useTranslation();
  const set = (field: RowField) => (e: { currentTarget: { value: string } }) =>
    setEditing({ ...editing, row: { ...editing.row, [field]: e.currentTarget.value } });
  const problem = (field: RowField) => (problems[field] ? t(problems[field]) : undefined);
  const box = useRef<HTMLDivElement>(null);
  const focus = editing.focus;
  useEffect(() => {
    // The field of the cell that was double-clicked takes the cursor.
    box.current?.querySelector<HTMLElement>(`[data-field="${focus}"]`)?.focus();
  }, [focus]);
  return (
    <Stack gap="xs" ref={box} data-testid="item-editor" onKeyDown={(e) => { if (e.key === "Escape") onCancel(); }}>
      {server.length > 0 && <Alert color="red" role="alert">{server.map((m) => <div key={m}>{m}</div>)}</Alert>}
      <Group grow align="flex-start">
        <TextInput label={t("datasets.id")} description={t("datasets.idHint")} value={editing.row.id} onChange={set("id")} data-field="id" />
        <TextInput label={t("datasets.tags")} description={t("datasets.tagsHint")} value={editing.row.tags} onChange={set("tags")} data-field="tags" />
      </Group>
      <Group grow align="flex-start">
        <Textarea label={t("datasets.inputs")} description={t("datasets.inputsHint")} autosize minRows={3} maxRows={12} styles={MONO} value={editing.row.inputs} onChange={set("inputs")} error={problem("inputs")} data-field="inputs" />
        <Textarea label={t("datasets.expected")} description={t("datasets.expectedHint")} autosize minRows={3} maxRows={12} value={editing.row.expected} onChange={set("expected")} data-field="expected" />
        <Textarea label={t("datasets.metadata")} description={t("datasets.metadataHint")} autosize minRows={3} maxRows={12} styles={MONO} value={editing.row.metadata} onChange={set("metadata")} error={problem("metadata")} data-field="metadata" />
      </Group>
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel}>{t("common.cancel")}</Button>
        <Button onClick={onSave} loading={busy}>{t("datasets.saveItem")}</Button>
      </Group>
    </Stack>
  );
}

export function ItemsTable({ items, canEdit, save }: Props) {
  const { t } = useTranslation();
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [problems, setProblems] = useState<RowProblems>({});
  const [server, setServer] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const names = inputNames(items, 5);
  const perInput = names.length <= 4; // past four inputs, one JSON column keeps the table readable
  const columns = (perInput ? names.length : 1) + 5;

  const start = (index: number | null, focus: RowField = "inputs") => {
    if (!canEdit) return;
    const item = index === null ? undefined : items[index];
    setEditing({ index, row: item ? rowOf(item) : emptyRow(), focus });
    setProblems({});
    setServer([]);
  };
  const cancel = () => { setEditing(null); setProblems({}); setServer([]); };
  const commit = async (next: DatasetItem[], index: number) => {
    setBusy(true);
    try {
      await save(next);
      return true;
    } catch (error) {
      if (error instanceof ApiError) {
        const byItem = draftProblems(error);
        setServer([...(byItem.get(index) ?? []), ...(byItem.get(-1) ?? [])]);
      } else {
        setServer([String(error)]);
      }
      return false;
    } finally {
      setBusy(false);
    }
  };
  const saveRow = async () => {
    if (!editing) return;
    const result = itemOf(editing.row, editing.index === null ? undefined : items[editing.index]);
    if ("problems" in result) { setProblems(result.problems); return; }
    setProblems({});
    const next = withRow(items, editing.index, result.item);
    const index = editing.index ?? items.length;
    if (await commit(next, index)) {
      setEditing(null);
      if (editing.index === null) setPage(pageCount(next.length));
    }
  };
  const remove = async (index: number) => {
    cancel();
    await commit(withRow(items, index, null), index);
  };

  const editor = editing && (
    <Table.Tr>
      <Table.Td colSpan={columns}>
        <RowEditor editing={editing} setEditing={setEditing} problems={problems} server={server} busy={busy} onSave={() => void saveRow()} onCancel={cancel} />
      </Table.Td>
    </Table.Tr>
  );

  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Text fw={500}>{t("datasets.itemCount", { count: items.length })}</Text>
        <Button size="xs" onClick={() => start(null)} disabled={!canEdit || editing?.index === null}>{t("datasets.addItem")}</Button>
      </Group>
      {!editing && server.length > 0 && <Alert color="red" role="alert">{server.map((m) => <div key={m}>{m}</div>)}</Alert>}
      {items.length === 0 && !editing && <Text c="dimmed">{t("datasets.noItems")}</Text>}
      {(items.length > 0 || editing) && (
        <Table striped highlightOnHover withTableBorder aria-label={t("datasets.items")}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("datasets.id")}</Table.Th>
              {perInput ? names.map((name) => <Table.Th key={name}>{name}</Table.Th>) : <Table.Th>{t("datasets.inputs")}</Table.Th>}
              <Table.Th>{t("datasets.expected")}</Table.Th>
              <Table.Th>{t("datasets.metadata")}</Table.Th>
              <Table.Th>{t("datasets.tags")}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {pageOf(items, page).map(({ item, index }) =>
              editing?.index === index ? <Fragment key={item.id}>{editor}</Fragment> : (
                <Table.Tr key={item.id} data-testid={`item-${item.id}`}>
                  <Cell onEdit={() => start(index, "id")}><code>{item.id}</code></Cell>
                  {perInput
                    ? names.map((name) => <Cell key={name} onEdit={() => start(index, "inputs")}>{cellText(item.inputs[name])}</Cell>)
                    : <Cell onEdit={() => start(index, "inputs")}>{cellText(item.inputs)}</Cell>}
                  <Cell onEdit={() => start(index, "expected")}>{cellText(item.expected)}</Cell>
                  <Cell onEdit={() => start(index, "metadata")}>{item.metadata && Object.keys(item.metadata).length ? cellText(item.metadata) : ""}</Cell>
                  <Table.Td onDoubleClick={() => start(index, "tags")}>
                    <Group gap={4}>{(item.tags ?? []).map((tag) => <Badge key={tag} size="sm" variant="light">{tag}</Badge>)}</Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button size="compact-xs" variant="subtle" disabled={!canEdit} onClick={() => start(index)} aria-label={`${t("datasets.edit")} ${item.id}`}>{t("datasets.edit")}</Button>
                      <ActionIcon size="sm" variant="subtle" color="red" disabled={!canEdit} onClick={() => void remove(index)} aria-label={t("datasets.deleteItem", { id: item.id })}>×</ActionIcon>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ),
            )}
            {editing?.index === null && editor}
          </Table.Tbody>
        </Table>
      )}
      {items.length > PAGE_SIZE && (
        <Pagination total={pageCount(items.length)} value={page} onChange={(p) => { cancel(); setPage(p); }} aria-label={t("datasets.page")} />
      )}
    </Stack>
  );
}
