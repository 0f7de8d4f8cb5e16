"""Developer tooling: benchmarks and the local Stripe. Not part of the runtime (nor of the Docker image)."""
