// One tool: its description, a form of its parameters (or a JSON editor when the schema is not flat), and a
// test call showing the result or the error (a schema violation lands on its field).
import { Alert, Badge, Button, Checkbox, Code, Group, JsonInput, Modal, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { useCan } from "../session";
import { useTestTool, type ToolSpec } from "./api";
import { argumentsFrom, argumentsSkeleton, errorsOnFields, initialValues, simpleFields, type FormField, type FormValues } from "./schemaForm";

interface Props {
  tool: ToolSpec;
  /** Why the tool cannot be called now (its provider is disabled), if so. */
  unavailable?: string;
  onClose: () => void;
}

function FieldInput({ field, value, error, onChange }: { field: FormField; value: string | boolean | undefined; error?: string; onChange: (value: string | boolean) => void }) {
  const common = { label: field.name, description: field.description || undefined, error, required: field.required };
  if (field.kind === "boolean") {
    return <Checkbox {...common} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />;
  }
  if (field.kind === "enum") {
    return <Select {...common} data={field.options} value={typeof value === "string" && value ? value : null} onChange={(v) => onChange(v ?? "")} clearable={!field.required} />;
  }
  if (field.kind === "number" || field.kind === "integer") {
    // a text input: the value is parsed on submit, so a typo is reported instead of dropped
    return <TextInput {...common} inputMode="decimal" value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.currentTarget.value)} />;
  }
  return <TextInput {...common} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.currentTarget.value)} />;
}

export function ToolDetail({ tool, unavailable, onClose }: Props) {
  const { t } = useTranslation();
  const canTest = useCan("editor");
  const fields = useMemo(() => simpleFields(tool.parameters), [tool.parameters]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields ?? []));
  const [jsonText, setJsonText] = useState(() => argumentsSkeleton(tool.parameters));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const test = useTestTool(tool.name);
  const apiError = test.error instanceof ApiError ? test.error : null;
  const serverErrors = apiError ? errorsOnFields(apiError.fieldMessages("arguments"), fields ?? []) : { byField: {}, general: [] };
  const otherError = test.error && !(apiError && apiError.fieldMessages("arguments").length) ? test.error.message : null;

  const submit = () => {
    test.reset();
    if (fields) {
      const built = argumentsFrom(fields, values, { notNumber: t("tools.notNumber"), notInteger: t("tools.notInteger") });
      setLocalErrors(built.errors);
      if (Object.keys(built.errors).length === 0) test.mutate(built.arguments);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(jsonText || "{}");
    } catch (error) {
      setLocalErrors({ json: (error as Error).message });
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setLocalErrors({ json: t("tools.argumentsNotObject") });
      return;
    }
    setLocalErrors({});
    test.mutate(parsed as Record<string, unknown>);
  };

  const result = test.data;
  return (
    <Modal opened onClose={onClose} size="xl" title={<Title order={4} component="span"><code>{tool.name}</code></Title>}>
      <Stack>
        <Text style={{ whiteSpace: "pre-wrap" }}>{tool.description}</Text>
        <Title order={5}>{t("tools.parameters")}</Title>
        {fields && fields.length === 0 && <Text c="dimmed">{t("tools.noParameters")}</Text>}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <Stack>
            {fields?.map((field) => (
              <FieldInput
                key={field.name}
                field={field}
                value={values[field.name]}
                error={localErrors[field.name] ?? serverErrors.byField[field.name]}
                onChange={(value) => setValues((current) => ({ ...current, [field.name]: value }))}
              />
            ))}
            {!fields && (
              <JsonInput
                label={t("tools.argumentsJson")}
                value={jsonText}
                onChange={setJsonText}
                autosize
                minRows={5}
                formatOnBlur
                error={localErrors.json ?? (fields === null && apiError ? apiError.fieldMessages("arguments").join(" ") || undefined : undefined)}
              />
            )}
            {serverErrors.general.length > 0 && fields && <Alert color="red">{serverErrors.general.join(" ")}</Alert>}
            {unavailable && <Alert color="yellow">{unavailable}</Alert>}
            <Group>
              <Button type="submit" loading={test.isPending} disabled={!canTest || !!unavailable} title={canTest ? undefined : t("common.readOnly")}>
                {t("tools.test")}
              </Button>
            </Group>
          </Stack>
        </form>
        {otherError && <Alert color="red">{otherError}</Alert>}
        {result && (
          <Stack gap="xs" data-testid="tool-result">
            <Group gap="xs">
              <Title order={5}>{result.ok ? t("tools.result") : t("tools.failed")}</Title>
              <Badge color={result.ok ? "green" : "red"}>{result.ok ? "ok" : "error"}</Badge>
              <Text size="sm" c="dimmed">{t("tools.took", { ms: result.duration_ms })}</Text>
            </Group>
            {result.error && <Alert color="red">{result.error}</Alert>}
            {result.ok && (
              <Code block style={{ maxHeight: 360, overflow: "auto" }}>
                {result.result !== null && result.result !== undefined ? JSON.stringify(result.result, null, 2) : result.text}
              </Code>
            )}
          </Stack>
        )}
        <details>
          <summary>{t("tools.schema")}</summary>
          <Code block>{JSON.stringify(tool.parameters, null, 2)}</Code>
        </details>
      </Stack>
    </Modal>
  );
}

