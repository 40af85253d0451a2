"""pystack's stack model (pydantic v2): Compose names, normalized long forms, immutable values."""

from orchestrator.spec.models.base import restore_environment
from orchestrator.spec.models.build import BuildConfig
from orchestrator.spec.models.deploy import DeployConfig
from orchestrator.spec.models.healthcheck import Healthcheck
from orchestrator.spec.models.networks import IPAM, IPAMPool, NetworkConfig, ServiceNetwork
from orchestrator.spec.models.ports import PortConfig
from orchestrator.spec.models.resources import BlkioConfig, Resources
from orchestrator.spec.models.restart import RestartPolicy
from orchestrator.spec.models.service import DependsOn, DeviceMapping, EnvFile, FileRef, Logging, Service
from orchestrator.spec.models.stack import Stack
from orchestrator.spec.models.toplevel import FileObject, VolumeConfig
from orchestrator.spec.models.volumes import BindOptions, ServiceVolume, TmpfsOptions, VolumeOptions

restore_environment()

ConfigObject = FileObject
SecretObject = FileObject

__all__ = [
    "IPAM", "BindOptions", "BlkioConfig", "BuildConfig", "ConfigObject", "DependsOn", "DeployConfig",
    "DeviceMapping", "EnvFile", "FileObject", "FileRef", "Healthcheck", "IPAMPool", "Logging",
    "NetworkConfig", "PortConfig", "Resources", "RestartPolicy", "SecretObject", "Service",
    "ServiceNetwork", "ServiceVolume", "Stack", "TmpfsOptions", "VolumeConfig", "VolumeOptions",
]
