"""Built-in ``resnet18-mnist``: torchvision's ResNet-18 (11.17M parameters) on MNIST digits.

A large model for secure aggregation at 26x the reference CNN's size, on the image set
this machine has. The input layer takes one grey channel instead of three (a 7x7
convolution with 1 input channel, so no channel is replicated); the rest is torchvision's
``resnet18(weights=None, num_classes=10)`` unchanged, including the stride-2 stem, so a
28x28 digit reaches the last stage as 1x1 and a CPU step stays cheap. Data and
preprocessing are the ``mnist`` workload's. Trailing batches of one example are skipped:
batch norm cannot train on a single 1x1 feature map.
"""

from __future__ import annotations

import torch
from torch import nn

from fedring.data.statistics import FederatedStats
from fedring.workloads.mnist import MnistWorkload


class ResNet18Mnist(MnistWorkload):
    """ResNet-18 with a one-channel stem, ten classes."""

    min_batch = 2

    def build_model(self, seed: int, stats: FederatedStats | None = None) -> nn.Module:
        from torchvision.models import resnet18

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = resnet18(weights=None, num_classes=10)
            model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        return model
