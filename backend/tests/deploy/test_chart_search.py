"""The chart's search settings: OpenSearch chosen by values, its credentials and CA from
Secrets or ConfigMaps mounted as files, and the reindex Job that builds the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from facteur.cli.main import NOUNS
from tests.deploy.chart import SCENARIOS, Rendered, render, template

BACKEND_WORKLOADS = ("web", "worker", "beat", "delivery")
CA_FILE = "/etc/facteur/opensearch-ca/ca.crt"


def documents(values: Path, *sets: str) -> Rendered:
    result = template(values, *sets)
    assert result.returncode == 0, result.stderr
    return Rendered(tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc))


def config_data(rendered: Rendered) -> dict[str, str]:
    (config,) = [c for c in rendered.kind("ConfigMap") if c["metadata"]["name"].endswith("-config")]
    return config["data"]


def only_container(doc: dict[str, Any]) -> dict[str, Any]:
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    return container


def secret_files(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The backend's credential files: variable -> (Secret, key)."""
    (volume,) = [v for v in doc["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets"]
    files = {}
    for source in volume["projected"]["sources"]:
        (item,) = source["secret"]["items"]
        files[item["path"]] = (source["secret"]["name"], item["key"])
    return files


def reindex_job(rendered: Rendered) -> dict[str, Any]:
    return rendered.named("Job", "mail-facteur-search-reindex")


def test_production_searches_with_opensearch() -> None:
    rendered = render(SCENARIOS["production"])
    data = config_data(rendered)
    assert data["FACTEUR_SEARCH_BACKEND"] == "opensearch"
    assert data["FACTEUR_OPENSEARCH_URL"] == "https://opensearch.search.svc:9200"
    assert data["FACTEUR_OPENSEARCH_INDEX_PREFIX"] == "facteur-prod"
    assert data["FACTEUR_OPENSEARCH_CA_FILE"] == CA_FILE
    assert data["FACTEUR_SEARCH_TIMEOUT_MS"] == "5000"
    # credentials never in the ConfigMap, nor in any Secret the chart makes
    assert not {"FACTEUR_OPENSEARCH_USERNAME", "FACTEUR_OPENSEARCH_PASSWORD"} & set(data)
    assert rendered.kind("Secret") == []


@pytest.mark.parametrize("component", BACKEND_WORKLOADS)
def test_every_backend_pod_gets_the_credentials_and_ca_as_files(component: str) -> None:
    """Workers write the index, web searches it, the others share the settings module."""
    rendered = render(SCENARIOS["production"])
    deployment = rendered.named("Deployment", f"mail-facteur-{component}")
    files = secret_files(deployment)
    assert files["FACTEUR_OPENSEARCH_USERNAME"] == ("facteur-opensearch", "username")
    assert files["FACTEUR_OPENSEARCH_PASSWORD"] == ("facteur-opensearch", "password")
    env = {e["name"]: e.get("value") for e in only_container(deployment)["env"]}
    assert env["FACTEUR_OPENSEARCH_PASSWORD_FILE"] == (
        "/etc/facteur/secrets/FACTEUR_OPENSEARCH_PASSWORD"
    )
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["opensearch-ca"]["secret"] == {
        "secretName": "opensearch-ca",
        "items": [{"key": "ca.pem", "path": "ca.crt"}],
    }
    mounts = {m["name"]: m for m in only_container(deployment)["volumeMounts"]}
    assert mounts["opensearch-ca"]["mountPath"] + "/ca.crt" == CA_FILE
    assert mounts["opensearch-ca"]["readOnly"] is True


def test_ca_from_a_config_map() -> None:
    rendered = documents(
        SCENARIOS["minimal"],
        "search.backend=opensearch",
        "search.opensearch.url=https://search.example.org:9200",
        "search.opensearch.caConfigMap=search-ca",
    )
    web = rendered.named("Deployment", "mail-facteur-web")
    volumes = {v["name"]: v for v in web["spec"]["template"]["spec"]["volumes"]}
    assert volumes["opensearch-ca"]["configMap"] == {
        "name": "search-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    assert config_data(rendered)["FACTEUR_OPENSEARCH_CA_FILE"] == CA_FILE
    # no existingSecret: no credentials (an open cluster, or one behind a network boundary)
    assert "FACTEUR_OPENSEARCH_PASSWORD" not in secret_files(web)


def test_postgres_search_is_the_default_and_needs_nothing() -> None:
    rendered = render(SCENARIOS["minimal"])
    data = config_data(rendered)
    assert data["FACTEUR_SEARCH_BACKEND"] == "postgres"
    assert not [name for name in data if name.startswith("FACTEUR_OPENSEARCH_")]
    assert not [j for j in rendered.kind("Job") if "reindex" in j["metadata"]["name"]]
    web = rendered.named("Deployment", "mail-facteur-web")
    assert "opensearch-ca" not in {v["name"] for v in web["spec"]["template"]["spec"]["volumes"]}


def test_reindex_job_runs_after_the_migrations_and_the_rollout() -> None:
    job = reindex_job(render(SCENARIOS["production"]))
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    migrations = render(SCENARIOS["production"]).named("Job", "mail-facteur-migrations")
    assert int(annotations["helm.sh/hook-weight"]) > int(
        migrations["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    assert job["spec"]["activeDeadlineSeconds"] == 21600
    container = only_container(job)
    assert container["command"] == ["facteur-admin", "search", "reindex"]
    assert secret_files(job)["FACTEUR_OPENSEARCH_PASSWORD"] == ("facteur-opensearch", "password")
    assert CA_FILE.startswith(
        {m["name"]: m for m in container["volumeMounts"]}["opensearch-ca"]["mountPath"]
    )


def test_reindex_command_is_the_admin_commands() -> None:
    """The Job's command line parses as facteur-admin's: the noun and its action exist."""
    from django.core.management import load_command_class

    command = only_container(reindex_job(render(SCENARIOS["production"])))["command"]
    assert command[0] == "facteur-admin"
    handler = load_command_class("facteur.cli", NOUNS[command[1]])
    parsed = handler.create_parser("facteur-admin", command[1]).parse_args(command[2:])
    assert parsed.action == command[2]


def test_reindex_before_the_switch_targets_opensearch() -> None:
    """Step one of the switch: the pods still search PostgreSQL, the Job fills OpenSearch."""
    rendered = documents(
        SCENARIOS["minimal"],
        "search.opensearch.url=https://search.example.org:9200",
        "search.reindex.enabled=true",
    )
    assert config_data(rendered)["FACTEUR_SEARCH_BACKEND"] == "postgres"
    env = {e["name"]: e.get("value") for e in only_container(reindex_job(rendered))["env"]}
    assert env["FACTEUR_SEARCH_BACKEND"] == "opensearch"
    assert env["FACTEUR_OPENSEARCH_URL"] == "https://search.example.org:9200"
    names = [e["name"] for e in only_container(reindex_job(rendered))["env"]]
    assert len(names) == len(set(names)), "a variable set twice"


def test_reindex_job_may_reach_the_all_in_one_database() -> None:
    rendered = documents(
        SCENARIOS["all-in-one"],
        "search.opensearch.url=http://opensearch:9200",
        "search.reindex.enabled=true",
        "networkPolicy.enabled=true",
    )
    policy = rendered.named("NetworkPolicy", "mail-facteur-postgresql")
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    (expression,) = source["podSelector"]["matchExpressions"]
    assert "search-reindex" in expression["values"]
    job = reindex_job(rendered)
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == (
        "search-reindex"
    )


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("search.backend=opensearch",), "search.opensearch.url is required"),
        (("search.reindex.enabled=true",), "search.opensearch.url is required"),
        (
            (
                "search.opensearch.url=https://s:9200",
                "search.opensearch.caConfigMap=a",
                "search.opensearch.caSecret=b",
            ),
            "caConfigMap or caSecret, not both",
        ),
    ],
    ids=["opensearch without url", "reindex without url", "two CAs"],
)
def test_incomplete_search_values_are_refused(sets: tuple[str, ...], message: str) -> None:
    result = template(SCENARIOS["minimal"], *sets)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
