"""The reference CNN for 28x28 grey images (MNIST), 421,834 trainable parameters.

Two 3x3 convolutions (32 and 64 channels), each followed by batch norm, ReLU and 2x2
max-pooling; dropout; a 128-unit hidden layer; dropout; a 10-way output. The same
network the Flower comparison uses, so accuracy and cost compare like for like.
"""

from __future__ import annotations

import torch
from torch import nn

class MnistCNN(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_model(seed: int = 0) -> MnistCNN:
    """A freshly initialised model; the same seed gives the same weights everywhere."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return MnistCNN()
    finally:
        torch.random.set_rng_state(gen_state)
