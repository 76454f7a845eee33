// The frame of every signed-in page: navigation, workspace switcher, language switch, connection banner.
import { Alert, AppShell, Button, Group, NavLink, Select, Text, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { ApiError, connection, request } from "../api/client";
import { switchLanguage } from "../i18n";
import { useMe, useWorkspaces } from "../session";

const SECTIONS = ["overview", "workflows", "prompts", "chains", "endpoints", "knowledge", "tools", "deployments", "runs", "evaluations", "datasets", "evaluators", "usage", "members"] as const;
// Sections whose label lives in their feature's locale file.
const LABELS: Partial<Record<(typeof SECTIONS)[number], string>> = { datasets: "datasets.navDatasets", evaluators: "datasets.navEvaluators", tools: "tools.nav" };
export const LAST_WORKSPACE_KEY = "llmops.workspace";

function ConnectionBanner() {
  const { t } = useTranslation();
  const [online, setOnline] = useState(true);
  useEffect(() => {
    const listener = (value: boolean) => setOnline(value);
    connection.listeners.add(listener);
    return () => {
      connection.listeners.delete(listener);
    };
  }, []);
  if (online) return null;
  return (
    <Alert color="orange" role="status" mb="sm">
      {t("app.offline")}
    </Alert>
  );
}

export function Shell() {
  const { t } = useTranslation();
  const me = useMe();
  const workspaces = useWorkspaces();
  const { ws } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();

  useEffect(() => {
    if (ws) localStorage.setItem(LAST_WORKSPACE_KEY, ws);
  }, [ws]);

  if (me.isPending) return <Text m="xl">{t("app.loading")}</Text>;
  if (me.error instanceof ApiError && (me.error.status === 401 || me.error.status === 403)) {
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname)}`} replace />;
  }

  const signOut = async () => {
    await request("/api/auth/session/", { method: "DELETE" });
    queryClient.clear();
    navigate("/sign-in");
  };
  const section = location.pathname.split("/")[3] ?? "";

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: "sm" }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Link to="/" style={{ textDecoration: "none", color: "inherit" }}>
              <Title order={4}>{t("app.title")}</Title>
            </Link>
            <Select
              aria-label={t("workspaces.switch")}
              placeholder={t("workspaces.switch")}
              data={(workspaces.data ?? []).map((w) => ({ value: w.slug ?? "", label: w.name }))}
              value={ws ?? null}
              onChange={(slug) => slug && navigate(`/w/${slug}/${section || "workflows"}`)}
              w={220}
            />
          </Group>
          <Group>
            <Text size="sm" c="dimmed">
              {me.data?.username}
            </Text>
            <Button variant="subtle" onClick={switchLanguage}>
              {t("app.language")}
            </Button>
            <Button variant="light" onClick={signOut}>
              {t("app.signOut")}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="sections">
        {ws &&
          SECTIONS.map((name) => (
            <NavLink
              key={name}
              component={Link}
              to={`/w/${ws}/${name}`}
              label={t(LABELS[name] ?? `nav.${name}`)}
              active={section === name}
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <ConnectionBanner />
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
