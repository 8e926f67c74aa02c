//! Tests of the deployment files, which belong to the platform rather than to one service: the
//! docker-compose file, the Dockerfiles in deploy/docker and the Kubernetes manifests in
//! deploy/k8s are parsed and checked against docs/api.md's configuration table and against each
//! other. Nothing here is built into a service; run them with
//! `cargo test -p ferrocast-deploy-tests`.

#[cfg(test)]
mod manifests;
