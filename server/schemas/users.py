"""User, role and token schemas."""
from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Role(StrEnum):
    admin = "admin"
    center_monitor = "center_monitor"          # every site, read and handle alerts
    area_staff = "area_staff"                  # their handling area
    property_custodian = "property_custodian"  # their property room

    @property
    def site_scoped(self) -> bool:
        return self in (Role.area_staff, Role.property_custodian)


class UserBase(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: str = Field("", max_length=200)
    role: Role
    site_id: str | None = Field(None, description="required for area_staff and property_custodian")

    @model_validator(mode="after")
    def _site_matches_role(self) -> UserBase:
        if self.role.site_scoped and not self.site_id:
            raise ValueError(f"site_id is required for role {self.role.value}")
        if not self.role.site_scoped and self.site_id:
            raise ValueError(f"role {self.role.value} covers every site; site_id must be empty")
        return self


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=200)


class UserUpdate(BaseModel):
    full_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, min_length=8, max_length=200)
    active: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    role: Role
    site_id: str | None
    active: bool


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_ts: int
