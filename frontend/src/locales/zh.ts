// 简体中文界面文字（与 en.ts 的键一致）。
import { datasetsText } from "./datasets";
import { deploymentsText } from "./deployments";
import { evaluationsText } from "./evaluations";
import type { Messages } from "./en";
import { knowledgeText } from "./knowledge";
import { overviewText } from "./overview";
import { toolsText } from "./tools";
import { usageText } from "./usage";

export const zh: Messages = {
  app: { title: "LLMOps 控制台", language: "English", signOut: "退出登录", offline: "连接已断开，正在重试…", loading: "加载中…" },
  nav: { overview: "概览", workflows: "工作流", prompts: "提示词", chains: "链", endpoints: "模型端点", knowledge: "知识库", deployments: "部署", runs: "运行记录", evaluations: "评估", usage: "用量", members: "成员", workspace: "工作空间" },
  signIn: { title: "登录", username: "用户名", password: "密码", submit: "登录", failed: "登录失败" },
  workspaces: { title: "工作空间", none: "你还不属于任何工作空间：请创建一个。", create: "创建工作空间", name: "名称", slug: "标识", role: "角色", switch: "切换工作空间" },
  common: { create: "创建", save: "保存", saved: "已保存", cancel: "取消", delete: "删除", name: "名称", slug: "标识", description: "描述", version: "版本", versions: "版本列表", draft: "草稿", latest: "最新", updated: "更新时间", publish: "发布", message: "说明", restore: "恢复", labels: "标签", status: "状态", actions: "操作", empty: "暂无内容。", close: "关闭", error: "错误", readOnly: "只读：你的角色不能修改。", open: "打开", import: "导入", export: "导出 YAML" },
  members: { title: "成员与角色", user: "用户", email: "邮箱", role: "角色", joined: "加入时间", invite: "邀请", inviteEmail: "要邀请的邮箱或用户名", remove: "移除" },
  endpoints: { title: "模型端点", empty: "还没有模型端点。添加一个即可调用模型。", create: "新建端点", provider: "供应商", model: "模型", modelType: "类型", baseUrl: "Base URL", apiKey: "API 密钥（只写）", credentialsSet: "已设置凭据", noCredentials: "未设置凭据", prices: "每百万 token 价格（输入 / 输出）", currency: "币种", test: "测试连接", testOk: "连接正常", testFailed: "连接失败" },
  prompts: { title: "提示词", empty: "还没有提示词。", create: "新建提示词", template: "模板", variables: "变量", model: "模型端点", playground: "调试", run: "运行", stop: "停止", output: "输出", tokens: "Token", latency: "延迟", cost: "费用", compare: "比较版本", from: "从", to: "到", diff: "差异" },
  chains: { title: "链", empty: "还没有链。", create: "新建链", definition: "定义（JSON）" },
  workflows: { title: "工作流", empty: "还没有工作流：新建一个，或导入 YAML / Dify 文件。", create: "新建工作流", importYaml: "导入 YAML", importDify: "导入 Dify DSL", document: "文档", report: "导入报告", imported: "已导入", importFailed: "导入失败" },
  editor: { palette: "节点", problems: "问题", noProblems: "没有问题", unsaved: "有未保存的修改", saving: "保存中…", savedAt: "已保存", cannotSave: "请先修复问题再保存草稿", undo: "撤销", redo: "重做", layout: "自动布局", debugRun: "调试运行", inputs: "输入", config: "配置", node: "节点", title: "标题", id: "ID", variables: "此处可用的变量", insert: "插入", publishMessage: "发布说明", published: "已发布版本", conflict: "自你打开后，其他人保存了这个工作流。请重新加载查看他们的修改。", reload: "重新加载", runNode: "单独运行此节点", output: "输出", debugRunHint: "按画布上当前的草稿运行，无需发布。调试运行单独计量，不计入生产用量。", runNodeHint: "填写该节点读取的上游数据（JSON 或文本），只运行这一个节点。", runNodeNothing: "该节点不读取任何上游数据。", backup: "此浏览器保留了该工作流未保存的修改（草稿有问题，或其他人先保存了）。", discard: "丢弃", copied: "已复制" },
  versions: { none: "还没有版本：发布草稿即生成版本 1。", addLabel: "添加标签", labelName: "标签", gated: "{{label}} 受评估门禁保护：此版本需要一次已批准、通过率不低于 {{rate}} 的评估运行。", gatedScore: "且平均分不低于 {{score}}" },
  runs: { title: "运行记录", empty: "还没有运行记录。", workflow: "工作流", status: "状态", started: "开始时间", elapsed: "耗时", tokens: "Token", cost: "费用", cancel: "取消", rerun: "重新运行", timeline: "节点时间线", inputs: "输入", outputs: "输出", error: "错误", live: "实时", all: "全部状态", debug: "调试", knowledge: "知识库" },
  usage: usageText.zh,
  deployments: deploymentsText.zh,
  knowledge: knowledgeText.zh,
  overview: overviewText.zh,
  evaluations: evaluationsText.zh,
  datasets: datasetsText.zh,
  tools: toolsText.zh,
};
