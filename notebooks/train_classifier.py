# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Train an image classifier and export it for serving
#
# The flow of the seed article: a folder of labelled images, a convolutional network, a
# numbered version directory that a TensorFlow Serving-compatible server picks up. Here the
# images are the bundled synthetic shapes (so this runs offline); point `MODELSHIP_DATA` at
# your own folder (one sub-folder per class, JPEG or PNG) to train on your photos instead.
#
# Settings come from the environment so the same notebook runs in JupyterLab, in CI and in
# the container: `MODELSHIP_DATA`, `MODELSHIP_MODELS` (the model repository the server
# watches), `MODELSHIP_MODEL`, `MODELSHIP_IMAGE_SIZE`, `MODELSHIP_EPOCHS`, `MODELSHIP_FRAMEWORK`
# (`torch` or `tensorflow`: the same CNN in PyTorch or Keras).

# %%
import os
from pathlib import Path

from IPython.display import Image, display

from modelship.data.images import ImagePreprocessing, load_image_folder
from modelship.data.synthetic import write_synthetic_images
from modelship.training.image_figures import plot_prediction_grid
from modelship.training.images import CONFUSION_NAME, GRID_NAME, train_images

data_dir = Path(os.environ.get("MODELSHIP_DATA", "data/synthetic-shapes"))
models = Path(os.environ.get("MODELSHIP_MODELS", "models"))
model_name = os.environ.get("MODELSHIP_MODEL", "shapes")
image_size = int(os.environ.get("MODELSHIP_IMAGE_SIZE", "224"))
epochs = int(os.environ.get("MODELSHIP_EPOCHS", "8"))
framework = os.environ.get("MODELSHIP_FRAMEWORK", "torch")

# %% [markdown]
# ## The data
# Without your own folder, write the synthetic set: shapes in colour families on noisy
# backgrounds, JPEG and PNG mixed.

# %%
if not data_dir.exists():
    classes = write_synthetic_images(data_dir, classes=4, per_class=40, seed=0)
dataset = load_image_folder(data_dir, ImagePreprocessing(size=(image_size, image_size)))
print(dataset.source)
print("classes:", dataset.labels)
samples = plot_prediction_grid(
    list(dataset.x_train[:10]),
    [dataset.labels[y] for y in dataset.y_train[:10]],
    [1.0] * 10,
    Path("samples.png"),
)
display(Image(filename=str(samples)))

# %% [markdown]
# ## Train and export
# One call trains the CNN (PyTorch, or the same network in Keras with `framework =
# "tensorflow"`), evaluates it on the held-out split and publishes `models/<name>/<version>/`
# with `model.onnx` (plus a SavedModel and `model.keras` from Keras), `modelship.json` (class
# names and the exact preprocessing the server must apply) and the pictures below.

# %%
result = train_images(
    data_dir,
    name=model_name,
    framework=framework,
    epochs=epochs,
    image_size=image_size,
    output=models,
)
print("validation accuracy:", result.val_accuracy)
print("version directory:", result.version_path)
print(sorted(p.name for p in result.version_path.iterdir()))

# %%
display(Image(filename=str(result.version_path / CONFUSION_NAME)))
display(Image(filename=str(result.version_path / GRID_NAME)))

# %% [markdown]
# The manifest records what a client or a server needs to know about the inputs:

# %%
print(result.manifest.labels)
print(result.manifest.preprocessing)
