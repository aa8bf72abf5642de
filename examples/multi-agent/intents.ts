// The intents of both agents, declared once: each agent validates arguments against them, and every
// caller (the orchestrator, the librarian calling compliance) gets their types.
import { defineIntent } from 'agentmesh'
import { z } from 'zod'

export const metadata = z.object({
  id: z.string(),
  title: z.string(),
  classification: z.enum(['public', 'internal', 'secret']),
  words: z.number().int(),
  keywords: z.array(z.string())
})

export const describe = defineIntent({
  cmd: '/library/describe',
  description: 'Describe a document of the library, and have its metadata checked by compliance',
  args: z.object({ id: z.string() })
})

export const check = defineIntent({
  cmd: '/compliance/check',
  description: "Check a document's metadata against the records policy",
  args: metadata,
  result: z.object({ compliant: z.boolean(), problems: z.array(z.string()), checkedFor: z.string() })
})
