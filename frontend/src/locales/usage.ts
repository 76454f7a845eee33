// UI text of the usage dashboards and budgets (English and Chinese, same keys).
export const usageText = {
  en: { title: "Usage and cost" },
  zh: { title: "用量与费用" },
};
