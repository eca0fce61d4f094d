import { z } from "zod";

const duration = z.union([z.string().min(1), z.number().nonnegative()]).describe("a duration: 500ms, 2s, 1m30s, or a number of seconds");

export const templateSchema = z
  .object({
    source: z.string().min(1).describe("Handlebars template file"),
    destination: z.string().min(1).describe("file to write"),
    command: z.string().min(1).optional().describe("command run after this file changed"),
    check: z.string().min(1).optional().describe("command that validates the candidate file ({{candidate}}) before it replaces the destination"),
    haproxySocket: z.string().min(1).optional().describe("an HAProxy config: apply instance changes through this Runtime API socket (level admin) instead of the reload command"),
    haproxyDrain: duration.optional().describe("with haproxySocket: how long a leaving server may finish its requests before it is deleted (default 10s)"),
  })
  .strict();

/** The config file of `consulate render`: the same settings as the flags (flags win). */
export const renderFileSchema = z
  .object({
    consul: z
      .object({
        address: z.string().min(1).optional().describe("host:port, http://host:port or https://host:port"),
        token: z.string().optional().describe("ACL token; prefer tokenFile"),
        tokenFile: z.string().optional(),
        maxConnections: z.number().int().min(4).max(190).optional().describe("concurrent connections to the agent (Consul allows 200 per client IP)"),
        allowAnonymous: z.boolean().optional().describe("run without a token even where the agent enforces ACLs"),
        tls: z
          .object({
            caFile: z.string().min(1).optional().describe("PEM file of the CA that signed the agent's certificate ($CONSUL_CACERT)"),
            caPath: z.string().min(1).optional().describe("directory of PEM CA files ($CONSUL_CAPATH)"),
            certFile: z.string().min(1).optional().describe("client certificate, for agents with verify_incoming ($CONSUL_CLIENT_CERT)"),
            keyFile: z.string().min(1).optional().describe("the client certificate's key ($CONSUL_CLIENT_KEY)"),
            serverName: z.string().min(1).optional().describe("name to verify the agent's certificate against ($CONSUL_TLS_SERVER_NAME)"),
            skipVerify: z.boolean().optional().describe("do not verify the agent's certificate (tests only)"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    templates: z.array(templateSchema).optional(),
    exec: z.string().min(1).optional().describe("command run once per render cycle in which any file changed"),
    check: z.string().min(1).optional().describe("default check command for every template"),
    commandTimeout: duration.optional(),
    wait: z.union([z.string(), z.object({ min: duration, max: duration.optional() }).strict()]).optional(),
    maxStale: duration.optional(),
    guard: z
      .object({ maxShrinkPercent: z.number().min(0).max(100), hold: duration })
      .strict()
      .optional()
      .describe("hold back a change that empties a service or shrinks it by more than maxShrinkPercent, until it has persisted for hold"),
    onceTimeout: duration.optional(),
    blockingWait: duration.optional(),
    onUnsafe: z.enum(["skip", "fail"]).optional().describe("a catalog value refused by a context helper: leave its item out (skip, default) or stop updating the file (fail)"),
    maxValueLength: z.number().int().min(16).max(65_536).optional().describe("longest catalog value the context helpers accept (host names: 253)"),
    listen: z.string().min(1).optional().describe("host:port for /metrics, /healthz, /readyz and /status"),
    logLevel: z.enum(["debug", "info", "warn", "error"]).optional(),
    logFormat: z.enum(["json", "text"]).optional(),
  })
  .strict();

export type RenderFileConfig = z.infer<typeof renderFileSchema>;
