"""Chains (prompt + model + output parser [+ retriever, memory]), their versions, conversation memory, the runner."""
