//! Load generators and benchmarks (see `bench/README.md`).
