"""The admin pages of chains and their conversations: lists with filters and search, change pages."""

from __future__ import annotations

import pytest
from django.test import Client

from llmops.accounts.models import Workspace
from llmops.chains.services import chain_conversation_append
from tests.chains.conftest import MakeChain

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/chains/chain/?q=sample&workspace__id__exact={ws}",
        "/admin/chains/chainversion/?q=sample",
        "/admin/chains/chain/{chain}/change/",
        "/admin/chains/chainconversation/?q=hoot&chain__id__exact={chain}",
        "/admin/chains/chainconversation/{conversation}/change/",
    ],
)
def test_admin_pages_load(
    admin_client: Client, workspace: Workspace, make_chain: MakeChain, path: str
) -> None:
    chain = make_chain(workspace)
    conversation = chain_conversation_append(
        chain=chain, conversation_id="c-1", user_text="owls?", assistant_text="Owls hoot.", chain_version=1
    )
    response = admin_client.get(path.format(ws=workspace.pk, chain=chain.pk, conversation=conversation.pk))
    assert response.status_code == 200
    assert b"sample" in response.content.lower() or b"c-1" in response.content
