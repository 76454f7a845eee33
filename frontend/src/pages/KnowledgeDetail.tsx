// Placeholder: built in the console part 2 work on knowledge.
import { Stack, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";

export default function KnowledgeDetail() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={2}>{t("knowledge.title")}</Title>
    </Stack>
  );
}
