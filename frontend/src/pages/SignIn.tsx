import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { ApiError, request } from "../api/client";

export function SignIn() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void request("/api/auth/session/"); // sets the CSRF cookie
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request("/api/auth/session/", { method: "POST", body: JSON.stringify({ username, password }) });
      queryClient.clear();
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, { code: "network", message: String(e) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center h="100vh">
      <Paper withBorder p="xl" w={360} component="form" onSubmit={submit}>
        <Stack>
          <Title order={3}>{t("signIn.title")}</Title>
          {error && (
            <Alert color="red" title={t("signIn.failed")} role="alert">
              {error.message}
            </Alert>
          )}
          <TextInput
            label={t("signIn.username")}
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
            error={error?.fieldMessages("username")[0]}
            required
          />
          <PasswordInput
            label={t("signIn.password")}
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={error?.fieldMessages("password")[0]}
            required
          />
          <Button type="submit" loading={busy}>
            {t("signIn.submit")}
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
