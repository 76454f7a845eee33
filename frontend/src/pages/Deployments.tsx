// Placeholder: built in the console part 2 work on deployments.
import { Stack, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";

export default function Deployments() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={2}>{t("deployments.title")}</Title>
    </Stack>
  );
}
