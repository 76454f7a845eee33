// UI text of deployments, API keys and snippets (English and Chinese, same keys).
export const deploymentsText = {
  en: { title: "Deployments" },
  zh: { title: "部署" },
};
