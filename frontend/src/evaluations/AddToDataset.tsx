// "Add to dataset" on a run's page: the run becomes a dataset item (its inputs, its outputs as the expected answer).
import { Button, Group, Popover, Select, Stack, Switch, Text } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { listOf, request } from "../api/client";

export function AddToDataset({ ws, runId, disabled }: { ws: string; runId: string; disabled: boolean }) {
  const { t } = useTranslation();
  const [opened, setOpened] = useState(false);
  const [dataset, setDataset] = useState<string | null>(null);
  const [withExpected, setWithExpected] = useState(true);
  const datasets = useQuery({ queryKey: [ws, "datasets"], enabled: opened, queryFn: () => listOf<{ slug: string }>(`/api/workspaces/${ws}/datasets/`) });
  const add = useMutation({
    mutationFn: async () => request(`/api/workspaces/${ws}/datasets/${dataset ?? ""}/add-runs/`, { method: "POST", body: JSON.stringify({ runs: [runId], with_expected: withExpected }) }),
  });
  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-end" withArrow>
      <Popover.Target>
        <Button size="xs" variant="light" disabled={disabled} onClick={() => setOpened((o) => !o)}>
          {t("evaluations.addToDataset")}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs" w={280}>
          <Select label={t("evaluations.dataset")} data={(datasets.data ?? []).map((d) => d.slug)} value={dataset} onChange={setDataset} comboboxProps={{ withinPortal: false }} />
          <Switch label={t("evaluations.outputsAsExpected")} checked={withExpected} onChange={(e) => setWithExpected(e.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button size="xs" disabled={!dataset} loading={add.isPending} onClick={() => add.mutate()}>
              {t("evaluations.add")}
            </Button>
          </Group>
          {add.isSuccess && <Text size="sm" c="green">{t("evaluations.added", { dataset })}</Text>}
          {add.error && <Text size="sm" c="red">{add.error.message}</Text>}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
