// Assigning review work (reviewers): the selected rows to one member (or to nobody), or the unreviewed rows
// shown split evenly among several members. One call of the run's assign action per member.
import { Alert, Button, Group, MultiSelect, Select, Text } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, listOf, request } from "../api/client";
import { evenly } from "./assignment";

interface Member {
  id: number;
  user: { id: number; username: string };
  role: string;
  can_review: boolean;
}

interface Props {
  ws: string;
  runId: string;
  selected: ReadonlySet<number>;
  unreviewed: number[];
  onAssigned: () => void;
}

export function AssignBar({ ws, runId, selected, unreviewed, onAssigned }: Props) {
  const { t } = useTranslation();
  const [member, setMember] = useState<string | null>(null);
  const [among, setAmong] = useState<string[]>([]);
  const members = useQuery({ queryKey: [ws, "members"], queryFn: () => listOf<Member>(`/api/workspaces/${ws}/members/`) });
  // only reviewers can be assigned (admins and owners, or members granted it)
  const names = (members.data ?? []).filter((m) => m.can_review || m.role === "admin" || m.role === "owner").map((m) => m.user.username);
  const assign = useMutation({
    mutationFn: async (parts: [string | null, number[]][]) => {
      let count = 0;
      for (const [reviewer, items] of parts) {
        const response = await request(`/api/workspaces/${ws}/evaluation-runs/${runId}/assign/`, { method: "POST", body: JSON.stringify({ items, reviewer }) });
        count += ((await response.json()) as { assigned: number }).assigned;
      }
      return count;
    },
    onSuccess: onAssigned,
  });
  const error = assign.error instanceof ApiError ? assign.error : null;
  const reviewerError = error?.fieldMessages("reviewer")[0];
  return (
    <Group align="flex-end" data-testid="assign-bar">
      <Text size="sm" c="dimmed">{t("evaluations.selected", { count: selected.size })}</Text>
      <Select label={t("evaluations.assignTo")} data={names} value={member} onChange={setMember} searchable w={180} error={reviewerError} />
      <Button variant="light" disabled={!member || selected.size === 0} loading={assign.isPending} onClick={() => assign.mutate([[member, [...selected]]])}>
        {t("evaluations.assign")}
      </Button>
      <Button variant="subtle" color="gray" disabled={selected.size === 0} onClick={() => assign.mutate([[null, [...selected]]])}>
        {t("evaluations.unassign")}
      </Button>
      <MultiSelect label={t("evaluations.shareAmong")} data={names} value={among} onChange={setAmong} searchable w={260} />
      <Button variant="light" disabled={among.length === 0 || unreviewed.length === 0} onClick={() => assign.mutate(evenly(unreviewed, among))}>
        {t("evaluations.shareUnreviewed", { count: unreviewed.length })}
      </Button>
      {assign.isSuccess && <Text size="sm" c="green">{t("evaluations.assigned", { count: assign.data })}</Text>}
      {error && !reviewerError && <Alert color="red" py={4}>{error.message}</Alert>}
      {assign.error && !error && <Alert color="red" py={4}>{assign.error.message}</Alert>}
    </Group>
  );
}
