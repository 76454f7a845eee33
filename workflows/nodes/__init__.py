"""Node types, one module each. ``NODE_KINDS`` maps a type name to its implementation."""

from __future__ import annotations

from typing import Any

from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult
from workflows.nodes.agent import AgentNode
from workflows.nodes.answer import AnswerNode
from workflows.nodes.chain import ChainNode
from workflows.nodes.code import CodeNode
from workflows.nodes.document_extractor import DocumentExtractorNode
from workflows.nodes.end import EndNode
from workflows.nodes.http_request import HttpRequestNode
from workflows.nodes.if_else import IfElseNode
from workflows.nodes.iteration import IterationNode
from workflows.nodes.knowledge_retrieval import KnowledgeRetrievalNode
from workflows.nodes.list_operator import ListOperatorNode
from workflows.nodes.llm import LLMNode
from workflows.nodes.loop import LoopNode
from workflows.nodes.parameter_extractor import ParameterExtractorNode
from workflows.nodes.prompt import PromptNode
from workflows.nodes.question_classifier import QuestionClassifierNode
from workflows.nodes.start import StartNode
from workflows.nodes.template import TemplateNode
from workflows.nodes.tool import ToolNode
from workflows.nodes.variable_aggregator import VariableAggregatorNode
from workflows.nodes.variable_assigner import VariableAssignerNode

NODE_KINDS: dict[str, NodeKind[Any]] = {}


def register_node_kind(kind: NodeKind[Any]) -> None:
    """Add (or replace) a node type; the platform can register its own."""
    NODE_KINDS[kind.type] = kind


def get_node_kind(type_name: str) -> NodeKind[Any] | None:
    """The implementation of a node type, or None."""
    return NODE_KINDS.get(type_name)


for _kind in (
    StartNode(),
    EndNode(),
    AnswerNode(),
    TemplateNode(),
    IfElseNode(),
    VariableAggregatorNode(),
    IterationNode(),
    LLMNode(),
    PromptNode(),
    ChainNode(),
    KnowledgeRetrievalNode(),
    QuestionClassifierNode(),
    ParameterExtractorNode(),
    ToolNode(),
    AgentNode(),
    CodeNode(),
    HttpRequestNode(),
    LoopNode(),
    ListOperatorNode(),
    DocumentExtractorNode(),
    VariableAssignerNode(),
):
    register_node_kind(_kind)

__all__ = [
    "NODE_KINDS",
    "NodeConfig",
    "NodeContext",
    "NodeKind",
    "NodeResult",
    "get_node_kind",
    "register_node_kind",
]
