import { createDefaultRegistry, inprocEndpointScheme, type SchemeRegistry } from '@vmkd/connect';

/**
 * Every scheme vmkd ships, plus the in-process endpoint (`inproc://NAME`) that measures the router
 * without a socket hop. The bench opens every guest and endpoint through it, by URI.
 */
export const benchRegistry: SchemeRegistry = createDefaultRegistry().endpoint(inprocEndpointScheme);
