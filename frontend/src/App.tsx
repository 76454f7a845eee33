// Routes. Pages load on demand so the first page's JavaScript stays small.
import { lazy, Suspense, type ReactNode } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { Loader } from "@mantine/core";
import { Shell } from "./layout/Shell";
import { SignIn } from "./pages/SignIn";
import { Home } from "./pages/Home";

const Workflows = lazy(() => import("./pages/Workflows"));
const WorkflowEditor = lazy(() => import("./pages/WorkflowEditor"));
const Prompts = lazy(() => import("./pages/Prompts"));
const PromptDetail = lazy(() => import("./pages/PromptDetail"));
const Chains = lazy(() => import("./pages/Chains"));
const Endpoints = lazy(() => import("./pages/Endpoints"));
const Runs = lazy(() => import("./pages/Runs"));
const RunDetail = lazy(() => import("./pages/RunDetail"));
const Members = lazy(() => import("./pages/Members"));
const Knowledge = lazy(() => import("./pages/Knowledge"));
const KnowledgeDetail = lazy(() => import("./pages/KnowledgeDetail"));
const Deployments = lazy(() => import("./pages/Deployments"));
const DeploymentDetail = lazy(() => import("./pages/DeploymentDetail"));
const Usage = lazy(() => import("./pages/Usage"));
const Overview = lazy(() => import("./pages/Overview"));
const Evaluations = lazy(() => import("./pages/Evaluations"));
const EvaluationRunDetail = lazy(() => import("./pages/EvaluationRunDetail"));
const Datasets = lazy(() => import("./pages/Datasets"));
const DatasetDetail = lazy(() => import("./pages/DatasetDetail"));
const Evaluators = lazy(() => import("./pages/Evaluators"));
const Tools = lazy(() => import("./pages/Tools"));

function page(element: ReactNode): ReactNode {
  return <Suspense fallback={<Loader m="xl" />}>{element}</Suspense>;
}

export const router = createBrowserRouter([
  { path: "/sign-in", element: <SignIn /> },
  {
    path: "/",
    element: <Shell />,
    children: [
      { index: true, element: <Home /> },
      { path: "w/:ws", element: <Navigate to="workflows" replace /> },
      { path: "w/:ws/workflows", element: page(<Workflows />) },
      { path: "w/:ws/workflows/:slug", element: page(<WorkflowEditor />) },
      { path: "w/:ws/prompts", element: page(<Prompts />) },
      { path: "w/:ws/prompts/:slug", element: page(<PromptDetail />) },
      { path: "w/:ws/chains", element: page(<Chains />) },
      { path: "w/:ws/endpoints", element: page(<Endpoints />) },
      { path: "w/:ws/runs", element: page(<Runs />) },
      { path: "w/:ws/runs/:id", element: page(<RunDetail />) },
      { path: "w/:ws/members", element: page(<Members />) },
      { path: "w/:ws/knowledge", element: page(<Knowledge />) },
      { path: "w/:ws/knowledge/:slug", element: page(<KnowledgeDetail />) },
      { path: "w/:ws/deployments", element: page(<Deployments />) },
      { path: "w/:ws/deployments/:slug", element: page(<DeploymentDetail />) },
      { path: "w/:ws/usage", element: page(<Usage />) },
      { path: "w/:ws/overview", element: page(<Overview />) },
      { path: "w/:ws/evaluations", element: page(<Evaluations />) },
      { path: "w/:ws/evaluations/:id", element: page(<EvaluationRunDetail />) },
      { path: "w/:ws/datasets", element: page(<Datasets />) },
      { path: "w/:ws/datasets/:slug", element: page(<DatasetDetail />) },
      { path: "w/:ws/evaluators", element: page(<Evaluators />) },
      { path: "w/:ws/tools", element: page(<Tools />) },
      { path: "*", element: <Navigate to="/" replace /> },
    ],
  },
]);
