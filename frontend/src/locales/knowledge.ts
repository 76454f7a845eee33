// UI text of knowledge bases: documents, upload progress, chunks, hit testing (English and Chinese, same keys).
export const knowledgeText = {
  en: { title: "Knowledge bases" },
  zh: { title: "知识库" },
};
