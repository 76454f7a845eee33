import { useTranslation } from "react-i18next";
import { useWorkspaceSlug } from "../session";
import { ResourceList } from "../components/ResourceList";

export default function Prompts() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  return (
    <ResourceList
      kind="prompts"
      title={t("prompts.title")}
      empty={t("prompts.empty")}
      createLabel={t("prompts.create")}
      initialDraft={() => ({ type: "text", template: "{{ question }}" })}
      linkTo={(r) => `/w/${ws}/prompts/${r.slug}`}
    />
  );
}
