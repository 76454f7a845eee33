// Members and roles: the list, role changes and removal (admins), invitations by username or email.
import { Alert, Button, Group, Select, Stack, Table, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { useCan, useWorkspaceSlug } from "../session";

interface Member { id: number; user: { id: number; username: string; email: string | null }; role: string; created_at: string }
const ROLES = ["viewer", "editor", "admin", "owner"];

export default function Members() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const isAdmin = useCan("admin");
  const queryClient = useQueryClient();
  const [who, setWho] = useState("");
  const [role, setRole] = useState<string | null>("editor");
  const base = `/api/workspaces/${ws}/members/`;
  const members = useQuery({
    queryKey: [ws, "members"],
    queryFn: () => listOf<Member>(base),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: [ws, "members"] });
  const update = useMutation({ mutationFn: async ({ id, role }: { id: number; role: string }) => request(`${base}${id}/`, { method: "PATCH", body: JSON.stringify({ role }) }), onSuccess: refresh });
  const remove = useMutation({ mutationFn: async (id: number) => request(`${base}${id}/`, { method: "DELETE" }), onSuccess: refresh });
  const invite = useMutation({
    mutationFn: async () => request(`/api/workspaces/${ws}/invitations/`, { method: "POST", body: JSON.stringify(who.includes("@") ? { email: who, role } : { username: who, role }) }),
    onSuccess: () => setWho(""),
  });
  const error = [update.error, remove.error, invite.error].find((e) => e instanceof ApiError) as ApiError | undefined;
  return (
    <Stack maw={900}>
      <Title order={2}>{t("members.title")}</Title>
      {error && <Alert color="red" role="alert">{error.message}</Alert>}
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t("members.user")}</Table.Th><Table.Th>{t("members.email")}</Table.Th><Table.Th>{t("members.role")}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(members.data ?? []).map((m) => (
            <Table.Tr key={m.id}>
              <Table.Td>{m.user.username}</Table.Td>
              <Table.Td>{m.user.email}</Table.Td>
              <Table.Td><Select aria-label={`${t("members.role")} ${m.user.username}`} data={ROLES} value={m.role} disabled={!isAdmin} onChange={(r) => r && update.mutate({ id: m.id, role: r })} w={140} /></Table.Td>
              <Table.Td><Button size="xs" variant="subtle" color="red" disabled={!isAdmin} onClick={() => remove.mutate(m.id)}>{t("members.remove")}</Button></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {isAdmin && (
        <Group align="flex-end">
          <TextInput label={t("members.inviteEmail")} value={who} onChange={(e) => setWho(e.currentTarget.value)} error={invite.error instanceof ApiError ? (invite.error.fieldMessages("username")[0] ?? invite.error.fieldMessages("email")[0]) : undefined} />
          <Select label={t("members.role")} data={ROLES} value={role} onChange={setRole} w={140} />
          <Button onClick={() => invite.mutate()} loading={invite.isPending}>{t("members.invite")}</Button>
        </Group>
      )}
    </Stack>
  );
}
