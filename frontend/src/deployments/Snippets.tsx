// Ready-to-paste calls (curl, openai Python SDK, fetch with SSE, an MCP client's config) with a copy button each.
import { Button, Code, CopyButton, Stack, Tabs, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { curlSnippet, fetchSnippet, mcpSnippet, pythonSnippet, type SnippetContext } from "./snippets";

function Snippet({ text, name }: { text: string; name: string }) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs">
      <Code block data-testid={`snippet-${name}`}>{text}</Code>
      <CopyButton value={text}>
        {({ copied, copy }) => (
          <Button size="xs" variant="light" color={copied ? "teal" : undefined} onClick={copy} style={{ alignSelf: "flex-start" }}>
            {copied ? t("deployments.copied") : t("deployments.copy")}
          </Button>
        )}
      </CopyButton>
    </Stack>
  );
}

export function Snippets({ ctx }: { ctx: SnippetContext }) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs">
      <Text size="sm" c="dimmed">{t("deployments.snippetsHelp")}</Text>
      <Tabs defaultValue="curl" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="curl">curl</Tabs.Tab>
          <Tabs.Tab value="python">Python (openai)</Tabs.Tab>
          <Tabs.Tab value="js">JavaScript (fetch, SSE)</Tabs.Tab>
          <Tabs.Tab value="mcp">MCP</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="curl" pt="xs"><Snippet name="curl" text={curlSnippet(ctx)} /></Tabs.Panel>
        <Tabs.Panel value="python" pt="xs"><Snippet name="python" text={pythonSnippet(ctx)} /></Tabs.Panel>
        <Tabs.Panel value="js" pt="xs"><Snippet name="js" text={fetchSnippet(ctx)} /></Tabs.Panel>
        <Tabs.Panel value="mcp" pt="xs"><Snippet name="mcp" text={mcpSnippet(ctx)} /></Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
