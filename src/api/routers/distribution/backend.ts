/** What the distribution routes need: registry login and inspect. */
export interface DistributionBackend {
  /** POST /auth: `{ Status: "Login Succeeded", IdentityToken }`, or Unauthorized. */
  login(body: Record<string, unknown>): Promise<{ Status: string; IdentityToken?: string }>;
  /** GET /distribution/{name}/json; `auth` is the raw X-Registry-Auth header. */
  inspect(name: string, auth: string | undefined): Promise<unknown>;
}
