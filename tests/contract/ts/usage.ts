// Compiled (not run) by tests/contract/test_generated_clients.py: the generated types describe
// what a client sends and reads, so code written against them type-checks.
import type { components, operations, paths } from "./generated/api";

type Schemas = components["schemas"];

export function signupBody(handle: string): Schemas["SignupInputRequest"] {
  return { handle, password: "a long enough secret", date_of_birth: "1990-01-01" };
}

export function generationBody(prompt: string): Schemas["GenerationInputRequest"] {
  return { prompt, seconds: 8, size: "720x1280" };
}

export function describe(n: Schemas["NotificationOutput"]): string {
  const who: string = n.actor ? n.actor.handle : "someone";
  const postId: number | null | undefined = n.data.post_id;
  const target: string = n.target ? `${n.target.type} ${n.target.id}` : "";
  return `${n.kind} by ${who} ${postId ?? ""} ${target}`;
}

export function visibility(post: Schemas["PostOutput"]): "public" | "followers" | "friends" | "private" {
  return post.visibility;
}

export function errorCode(e: Schemas["Error"]): string {
  return e.error.code;
}

type RemixPage = operations["posts_remixes_list"]["responses"][200]["content"]["application/json"];
export function firstRemixId(page: RemixPage): number | undefined {
  return page.results[0]?.post?.id;
}

type Login = paths["/api/v1/auth/login"]["post"];
export type LoginRefused = Login["responses"][401]["content"]["application/json"];
