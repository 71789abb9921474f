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
# # Call the image classifier service
#
# The seed's client notebook, against a running modelship (or TF Serving-compatible) service:
# build the predict URL, send images, print `predicted class= X with confidence level of Y`.
# The seed sent each image as a JSON list of 224x224x3 floats; here the image file itself is
# sent base64-encoded (`{"b64": ...}`), and the server decodes, resizes and normalises it the
# way the model was trained. The float path still works and is shown at the end.
#
# `MODELSHIP_URL` (default `http://localhost:8501`), `MODELSHIP_MODEL` (default `shapes`) and
# `MODELSHIP_IMAGES` (a folder of test images; default: fresh synthetic ones) configure it.

# %%
import base64
import os
from pathlib import Path

import httpx
import numpy as np
from IPython.display import Image, display

from modelship.data.images import ImagePreprocessing, load_pixels
from modelship.data.synthetic import write_synthetic_images
from modelship.training.image_figures import plot_prediction_grid

url = os.environ.get("MODELSHIP_URL", "http://localhost:8501").rstrip("/")
model_name = os.environ.get("MODELSHIP_MODEL", "shapes")
model_predict_url = f"{url}/v1/models/{model_name}:predict"
print(model_predict_url)

# %% [markdown]
# What does the model expect? Its metadata carries the class names and the preprocessing.

# %%
metadata = httpx.get(f"{url}/v1/models/{model_name}/metadata").raise_for_status().json()
Class_Name = metadata["metadata"]["modelship"]["labels"]
preprocessing = metadata["metadata"]["modelship"]["preprocessing"]
print(Class_Name)
print(preprocessing)

# %% [markdown]
# Ten test images (new synthetic ones unless `MODELSHIP_IMAGES` names a folder).

# %%
images_dir = Path(os.environ.get("MODELSHIP_IMAGES", "test-images"))
if not images_dir.exists():
    write_synthetic_images(images_dir, classes=len(Class_Name), per_class=3, seed=123)
test_files = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in {".jpg", ".png"})[:10]
print(len(test_files), "images")


# %%
def model_predict(url, image_path):
    """(class name, confidence) for one image file, sent as b64."""
    encoded = base64.b64encode(Path(image_path).read_bytes()).decode()
    request_json = {"instances": [{"b64": encoded}], "parameters": {"top_k": 1}}
    response = httpx.post(url, json=request_json, timeout=30)
    response.raise_for_status()
    prediction = response.json()["predictions"][0]
    return (prediction["classes"][0], prediction["scores"][0])


predicted_classes = [model_predict(model_predict_url, f) for f in test_files]
for pred_class, confidence_level in predicted_classes:
    print(f"predicted class= {pred_class} with confidence level of {confidence_level}")

# %% [markdown]
# A picture of the answers (true classes are the folder names).

# %%
spec = ImagePreprocessing.from_json(preprocessing)
grid = plot_prediction_grid(
    [load_pixels(f, spec) for f in test_files],
    [c for c, _ in predicted_classes],
    [s for _, s in predicted_classes],
    Path("client_predictions.png"),
    truth=[f.parent.name for f in test_files],
)
display(Image(filename=str(grid)))
correct = sum(c == f.parent.name for (c, _), f in zip(predicted_classes, test_files, strict=True))
print(f"{correct}/{len(test_files)} correct")

# %% [markdown]
# The seed's way still works: the image as a float tensor (`[0, 1]`, height x width x 3),
# with `np.argmax` over the returned probabilities. It is the same answer, in a body about
# 20 times larger.

# %%
image = spec.to_tensor(load_pixels(test_files[0], spec)[None])[0]
request_json = {"signature_name": "serving_default", "instances": [image.tolist()]}
prediction = httpx.post(model_predict_url, json=request_json, timeout=30).json()["predictions"]
pred_class = int(np.argmax(prediction[0]))
confidence_level = prediction[0][pred_class]
print(f"predicted class= {Class_Name[pred_class]} with confidence level of {confidence_level}")
