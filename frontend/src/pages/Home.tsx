// The start page: go to the last workspace, or list the caller's workspaces and create one.
import { Button, Card, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate } from "react-router";
import { api, ApiError, unwrap } from "../api/client";
import { LAST_WORKSPACE_KEY } from "../layout/Shell";
import { useWorkspaces } from "../session";

export function Home() {
  const { t } = useTranslation();
  const workspaces = useWorkspaces();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/workspaces/", { body: { name, slug } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["workspaces"] }),
  });
  const last = localStorage.getItem(LAST_WORKSPACE_KEY);
  if (workspaces.data && last && workspaces.data.some((w) => w.slug === last)) {
    return <Navigate to={`/w/${last}/workflows`} replace />;
  }
  const error = create.error instanceof ApiError ? create.error : null;
  return (
    <Stack maw={640}>
      <Title order={2}>{t("workspaces.title")}</Title>
      {workspaces.data?.length === 0 && <Text c="dimmed">{t("workspaces.none")}</Text>}
      {workspaces.data?.map((w) => (
        <Card key={w.slug} withBorder component={Link} to={`/w/${w.slug}/workflows`}>
          <Group justify="space-between">
            <Text fw={500}>{w.name}</Text>
            <Text c="dimmed" size="sm">
              {w.role}
            </Text>
          </Group>
        </Card>
      ))}
      <Group align="flex-end">
        <TextInput label={t("workspaces.name")} value={name} onChange={(e) => setName(e.currentTarget.value)} error={error?.fieldMessages("name")[0]} />
        <TextInput label={t("workspaces.slug")} value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={error?.fieldMessages("slug")[0]} />
        <Button onClick={() => create.mutate()} loading={create.isPending}>
          {t("workspaces.create")}
        </Button>
      </Group>
    </Stack>
  );
}
