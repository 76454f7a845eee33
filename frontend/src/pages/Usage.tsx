// Placeholder: built in the console part 2 work on usage.
import { Stack, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";

export default function Usage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={2}>{t("usage.title")}</Title>
    </Stack>
  );
}
