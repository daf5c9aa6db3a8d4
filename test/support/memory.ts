/** The in-memory doubles live beside the real layers (src/layers/memory); tests import them from here as before. */
export * from "../../src/layers/memory/services.js"
