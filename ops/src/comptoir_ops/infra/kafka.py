"""Apache Kafka, single node KRaft, from the jars on Maven Central (see ops/kafka/pom.xml)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from .base import InfraError, ProcessComponent, Progress, ensure_tool, port_open, quiet, run
from .paths import cache_dir, local_dir, ops_dir

HOST = "127.0.0.1"
PORT = 9092
CONTROLLER_PORT = 9093
BOOTSTRAP = f"{HOST}:{PORT}"
TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC_OR_PARTITION = 3

T = TypeVar("T")


def kafka_version() -> str:
    """The version pinned in ops/kafka/pom.xml."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(ops_dir() / "kafka" / "pom.xml")  # noqa: S314 - our own file
    node = pom.find("m:properties/m:kafka.version", ns)
    if node is None or not node.text:
        raise InfraError("ops/kafka/pom.xml has no <kafka.version> property")
    return node.text.strip()


def _server_properties(data_dir: Path) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{CONTROLLER_PORT}",
        "listeners": f"PLAINTEXT://{HOST}:{PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{PORT}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion, even when called from inside a running event loop."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _with_admin(
    use: Callable[[AIOKafkaAdminClient], Awaitable[T]], timeout_ms: int = 10_000
) -> T:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        return await use(admin)
    finally:
        await admin.close()


def list_topics() -> list[str]:
    """Topic names, internal ones (``__consumer_offsets``...) left out."""

    async def use(admin: AIOKafkaAdminClient) -> list[str]:
        return sorted(t for t in await admin.list_topics() if not t.startswith("__"))

    return _run_sync(lambda: _with_admin(use))


def ensure_topics(names: list[str], partitions: int = 3) -> list[str]:
    """Create the missing topics and wait until they have leaders; the names created."""

    async def use(admin: AIOKafkaAdminClient) -> list[str]:
        missing = sorted(set(names) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics([NewTopic(n, partitions, 1) for n in missing])
            errors = [
                (name, code, message)
                for name, code, message, *_ in response.topic_errors
                if code not in (0, TOPIC_ALREADY_EXISTS)
            ]
            if errors:
                raise InfraError(f"could not create topics: {errors}")
        await _wait_for_leaders(admin, names)
        return missing

    return _run_sync(lambda: _with_admin(use))


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    try:
        async with asyncio.timeout(30):
            while True:
                topics = await admin.describe_topics(names)
                if all(_has_leaders(t) for t in topics):
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise InfraError(f"topics still without leaders after 30s: {names}") from None


def _has_leaders(topic: dict[str, Any]) -> bool:
    return topic["error_code"] == 0 and all(p["leader"] >= 0 for p in topic["partitions"])


def delete_topics(names: list[str]) -> None:
    """Delete the topics that exist; missing ones are ignored."""

    async def use(admin: AIOKafkaAdminClient) -> None:
        existing = sorted(set(names) & set(await admin.list_topics()))
        if not existing:
            return
        response = await admin.delete_topics(existing)
        errors = [
            (name, code)
            for name, code, *_ in response.topic_error_codes
            if code not in (0, UNKNOWN_TOPIC_OR_PARTITION)
        ]
        if errors:
            raise InfraError(f"could not delete topics: {errors}")

    _run_sync(lambda: _with_admin(use))


class Kafka(ProcessComponent):
    name = "kafka"
    endpoint = BOOTSTRAP

    def __init__(self) -> None:
        self.version = kafka_version()

    @property
    def libs(self) -> Path:
        return cache_dir("kafka", self.version) / "libs"

    @property
    def home(self) -> Path:
        return local_dir("kafka")

    def install(self, progress: Progress = quiet) -> None:
        ensure_tool("java", "openjdk-17-jre-headless", progress)
        pom = ops_dir() / "kafka" / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        stamp = self.libs.parent / "pom.xml.sha256"
        if stamp.exists() and stamp.read_text() == digest:
            return
        mvn = ensure_tool("mvn", "maven", progress)
        progress(f"downloading Kafka {self.version} jars from Maven Central")
        run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                f"-Dmaven.repo.local={cache_dir('m2')}",
                f"-Dkafka.libs={self.libs}",
                "dependency:copy-dependencies",
            ]
        )
        stamp.write_text(digest)

    def prepare(self) -> None:
        data = self.home / "data"
        properties = self.home / "server.properties"
        properties.write_text(_server_properties(data))
        if (data / "meta.properties").exists():
            return
        cluster_id_file = self.home / "cluster.id"
        if not cluster_id_file.exists():
            cluster_id_file.write_text(
                base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
            )
        run(
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id_file.read_text().strip(),
                "-c",
                str(properties),
            ]
        )

    def _java(self) -> list[str]:
        log4j = ops_dir() / "kafka" / "log4j2.yaml"
        return [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs}/*",
        ]

    def command(self) -> list[str]:
        return [*self._java(), "kafka.Kafka", str(self.home / "server.properties")]

    def is_ready(self) -> bool:
        if not port_open(HOST, PORT):  # spares aiokafka's connection-refused log lines
            return False

        async def use(admin: AIOKafkaAdminClient) -> bool:
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers"))

        try:
            return _run_sync(lambda: _with_admin(use, timeout_ms=2_000))
        except (TimeoutError, KafkaError, OSError):
            return False
